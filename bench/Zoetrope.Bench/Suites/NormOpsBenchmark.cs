using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The DiT block's row ops: norms, adaLN modulation, gated residuals.</summary>
[MemoryDiagnoser]
public class NormOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override IReadOnlyList<string> OpNames => ["rms_norm", "layer_norm", "adaln_modulate", "gated_residual", "gated_residual_adaln"];
}
