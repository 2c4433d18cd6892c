using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>Wan's 3D RoPE and the fused QK-norm + RoPE (+ INT8) path.</summary>
[MemoryDiagnoser]
public class RopeOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "rope";
}
