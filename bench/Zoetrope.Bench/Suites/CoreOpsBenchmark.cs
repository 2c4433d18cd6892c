using BenchmarkDotNet.Attributes;

namespace Zoetrope.Bench.Suites;

/// <summary>The foundation's ops: axpby (memory-bound) and softmax (reduction).</summary>
[MemoryDiagnoser]
public class CoreOpsBenchmark : OpBenchmarkBase
{
    /// <inheritdoc />
    protected override string Suite => "core";
}
