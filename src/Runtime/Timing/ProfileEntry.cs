namespace Zoetrope.Runtime;

/// <summary>The spans of one name in a <see cref="Profiler"/>, aggregated.</summary>
/// <param name="Name">The span name (an op name for op calls).</param>
/// <param name="Count">Number of spans.</param>
/// <param name="TotalMs">Sum of their durations.</param>
/// <param name="MedianMs">Median duration.</param>
/// <param name="MinMs">Shortest.</param>
/// <param name="MaxMs">Longest.</param>
/// <param name="Flops">Floating-point (or integer) operations of all spans, from the ops' cost models.</param>
/// <param name="Bytes">Bytes moved by all spans, from the ops' cost models.</param>
public sealed record ProfileEntry(string Name, int Count, double TotalMs, double MedianMs, double MinMs, double MaxMs, double Flops = 0, double Bytes = 0)
{
    /// <summary>Achieved TFLOP/s over the spans' total time.</summary>
    public double Tflops => TotalMs > 0 ? Flops / (TotalMs * 1e9) : 0;

    /// <summary>Achieved GB/s over the spans' total time.</summary>
    public double GBps => TotalMs > 0 ? Bytes / (TotalMs * 1e6) : 0;
}
