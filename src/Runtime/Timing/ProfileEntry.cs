namespace Zoetrope.Runtime;

/// <summary>The spans of one name in a <see cref="Profiler"/>, aggregated.</summary>
/// <param name="Name">The span name (an op name for op calls).</param>
/// <param name="Count">Number of spans.</param>
/// <param name="TotalMs">Sum of their durations.</param>
/// <param name="MedianMs">Median duration.</param>
/// <param name="MinMs">Shortest.</param>
/// <param name="MaxMs">Longest.</param>
public sealed record ProfileEntry(string Name, int Count, double TotalMs, double MedianMs, double MinMs, double MaxMs);
