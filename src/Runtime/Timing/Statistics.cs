namespace Zoetrope.Runtime;

/// <summary>Order statistics of timing samples.</summary>
public static class Statistics
{
    /// <summary>
    /// The <paramref name="p"/>-th percentile (0..100) of <paramref name="samples"/> by linear
    /// interpolation between closest ranks (numpy's default): the median of an even count is the
    /// mean of the two middle values.
    /// </summary>
    /// <exception cref="ArgumentException">No samples, or p outside [0, 100].</exception>
    public static double Percentile(IReadOnlyList<double> samples, double p)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0)
        {
            throw new ArgumentException("no samples", nameof(samples));
        }
        if (p is < 0 or > 100 || double.IsNaN(p))
        {
            throw new ArgumentException($"percentile {p} outside [0, 100]", nameof(p));
        }
        var sorted = samples.OrderBy(x => x).ToArray();
        double rank = p / 100.0 * (sorted.Length - 1);
        int lo = (int)Math.Floor(rank);
        int hi = (int)Math.Ceiling(rank);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    /// <summary>The median (50th percentile).</summary>
    public static double Median(IReadOnlyList<double> samples) => Percentile(samples, 50);
}
