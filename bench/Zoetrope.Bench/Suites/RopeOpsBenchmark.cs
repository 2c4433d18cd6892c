using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>Wan's 3D RoPE and the fused QK-norm + RoPE (+ INT8) path.</summary>
[MemoryDiagnoser]
public class RopeOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override IReadOnlyList<string> OpNames => ["rope_apply", "qk_norm_rope", "qk_norm_rope_int8"];
}
