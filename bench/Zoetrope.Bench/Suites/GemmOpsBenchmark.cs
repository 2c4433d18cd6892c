using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The linear layers: bf16, W8A8 INT8 (both schemes) and FP8.</summary>
[MemoryDiagnoser]
public class GemmOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "gemm";
}
