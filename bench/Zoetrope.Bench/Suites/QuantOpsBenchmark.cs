using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The quantizers and dequantizers (INT8 and FP8 E4M3, per row, tensor and tile).</summary>
[MemoryDiagnoser]
public class QuantOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "quant";
}
