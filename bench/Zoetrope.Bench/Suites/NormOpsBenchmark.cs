using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The DiT block's row ops: norms, adaLN modulation, gated residuals.</summary>
[MemoryDiagnoser]
public class NormOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "norm";
}
