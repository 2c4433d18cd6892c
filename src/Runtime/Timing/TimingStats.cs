namespace Zoetrope.Runtime;

/// <summary>Summary of repeated timings of one piece of device work.</summary>
/// <param name="Iterations">Timed repetitions (warm-up excluded).</param>
/// <param name="MedianMs">Median milliseconds.</param>
/// <param name="MinMs">Fastest repetition.</param>
/// <param name="P90Ms">90th percentile.</param>
/// <param name="SamplesMs">Every repetition, in order.</param>
public sealed record TimingStats(int Iterations, double MedianMs, double MinMs, double P90Ms, IReadOnlyList<double> SamplesMs)
{
    /// <summary>Summarises <paramref name="samples"/>.</summary>
    public static TimingStats From(IReadOnlyList<double> samples) =>
        new(samples.Count, Statistics.Median(samples), samples.Min(), Statistics.Percentile(samples, 90), samples.ToArray());

    /// <summary>
    /// Times <paramref name="work"/> on <paramref name="backend"/>: <paramref name="warmup"/>
    /// untimed runs (kernel compilation, caches), then <paramref name="repeat"/> runs each between
    /// a pair of device markers (CUDA events on GPUs).
    /// </summary>
    public static TimingStats Measure(Backend backend, Action work, int warmup, int repeat)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(work);
        if (repeat < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(repeat), repeat, "at least one timed repetition");
        }
        for (int i = 0; i < warmup; i++)
        {
            work();
        }
        backend.Synchronize();
        var samples = new double[repeat];
        using var timer = backend.CreateTimer();
        for (int i = 0; i < repeat; i++)
        {
            timer.Start();
            work();
            timer.Stop();
            samples[i] = timer.ElapsedMilliseconds;
        }
        return From(samples);
    }
}
