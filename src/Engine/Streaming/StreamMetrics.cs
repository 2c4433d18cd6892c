// StreamMetrics: what a streaming user watches: time to first block, per-block latency (p50,
// p99, jitter), FPS in video frames (4 per latent frame; the first block yields 3 fewer), the
// prompt-switch latency, and a per-op time breakdown from the profiler. Memory stays bounded on
// unbounded streams: latencies are kept for the last Window blocks, op times as running totals.
namespace Zoetrope.Engine;

/// <summary>Running metrics of a stream.</summary>
public sealed class StreamMetrics
{
    /// <summary>Blocks whose latencies feed the percentiles.</summary>
    public const int Window = 4096;

    private readonly double[] _latencies = new double[Window];
    private readonly List<double> _switches = [];
    private readonly Dictionary<string, OpTotals> _ops = [];

    /// <summary>Blocks generated.</summary>
    public int Blocks { get; private set; }

    /// <summary>Video frames generated.</summary>
    public long VideoFrames { get; private set; }

    /// <summary>Wall time spent generating blocks, ms.</summary>
    public double GenerationMs { get; private set; }

    /// <summary>From the session's start (prompt encoding included) to the first block, ms (NaN before it).</summary>
    public double TimeToFirstBlockMs { get; private set; } = double.NaN;

    /// <summary>Video frames per second of generation time (DiT only: no VAE).</summary>
    public double Fps => GenerationMs > 0 ? VideoFrames / (GenerationMs / 1000) : 0;

    /// <summary>Median block latency over the last <see cref="Window"/> blocks, ms.</summary>
    public double P50Ms => Statistics.Percentile(Recent(), 50);

    /// <summary>99th-percentile block latency over the last <see cref="Window"/> blocks, ms.</summary>
    public double P99Ms => Statistics.Percentile(Recent(), 99);

    /// <summary>Prompt-switch latencies, ms (text encoding + recache).</summary>
    public IReadOnlyList<double> SwitchMs => _switches;

    /// <summary>Per-op totals (name, calls, ms), largest first; empty unless the session profiles.</summary>
    public IReadOnlyList<(string Op, int Count, double Ms)> Ops =>
        _ops.OrderByDescending(o => o.Value.Ms).Select(kv => (kv.Key, kv.Value.Count, kv.Value.Ms)).ToArray();

    /// <summary>Per-op totals with the work the ops' cost models count, largest time first.</summary>
    public IReadOnlyList<OpTotals> OpWork => _ops.Values.OrderByDescending(o => o.Ms).ToArray();

    /// <summary>Forgets the per-op totals (e.g. after warm-up blocks).</summary>
    public void ResetOps() => _ops.Clear();

    internal void AddBlock(double ms, int videoFrames, double sinceStartMs)
    {
        _latencies[Blocks % Window] = ms;
        Blocks++;
        VideoFrames += videoFrames;
        GenerationMs += ms;
        if (double.IsNaN(TimeToFirstBlockMs))
        {
            TimeToFirstBlockMs = sinceStartMs;
        }
    }

    internal void AddSwitch(double ms)
    {
        if (_switches.Count < Window)
        {
            _switches.Add(ms);
        }
    }

    internal void AddOps(IEnumerable<ProfileEntry> entries)
    {
        foreach (var e in entries)
        {
            var t = _ops.GetValueOrDefault(e.Name) ?? new OpTotals(e.Name, 0, 0, 0, 0);
            _ops[e.Name] = new OpTotals(e.Name, t.Count + e.Count, t.Ms + e.TotalMs, t.Flops + e.Flops, t.Bytes + e.Bytes);
        }
    }

    private double[] Recent() => Blocks == 0 ? [double.NaN] : _latencies.AsSpan(0, Math.Min(Blocks, Window)).ToArray();
}

/// <summary>One op's accumulated calls, time and work over a stream.</summary>
/// <param name="Op">Op name.</param>
/// <param name="Count">Calls.</param>
/// <param name="Ms">Total device time.</param>
/// <param name="Flops">Total operations (from the op's cost model).</param>
/// <param name="Bytes">Total bytes moved (from the op's cost model).</param>
public sealed record OpTotals(string Op, int Count, double Ms, double Flops, double Bytes);
