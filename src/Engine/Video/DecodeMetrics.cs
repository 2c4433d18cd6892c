// DecodeMetrics: the decoder's share of a stream: per-block decode latency (p50/p99 over the last
// Window blocks, bounded memory like StreamMetrics) and the frame rates with it: decode alone
// (frames / decode time) and end to end (frames / (generation + decode time)), beside
// StreamMetrics.Fps, which counts generation only.
namespace Zoetrope.Engine.Video;

/// <summary>Running metrics of decoding a stream's blocks.</summary>
public sealed class DecodeMetrics
{
    /// <summary>Blocks whose latencies feed the percentiles.</summary>
    public const int Window = StreamMetrics.Window;

    private readonly double[] _latencies = new double[Window];

    /// <summary>Blocks decoded.</summary>
    public int Blocks { get; private set; }

    /// <summary>Video frames decoded.</summary>
    public long VideoFrames { get; private set; }

    /// <summary>Wall time spent decoding, ms.</summary>
    public double DecodeMs { get; private set; }

    /// <summary>Wall time spent writing the video (encoding included), ms.</summary>
    public double WriteMs { get; private set; }

    /// <summary>Median decode latency per block over the last <see cref="Window"/> blocks, ms.</summary>
    public double P50Ms => Statistics.Percentile(Recent(), 50);

    /// <summary>99th-percentile decode latency per block over the last <see cref="Window"/> blocks, ms.</summary>
    public double P99Ms => Statistics.Percentile(Recent(), 99);

    /// <summary>Video frames per second of decode time alone (the decoder's throughput).</summary>
    public double DecodeFps => DecodeMs > 0 ? VideoFrames / (DecodeMs / 1000) : 0;

    /// <summary>Video frames per second of generation plus decode time: what a viewer of the stream gets.</summary>
    /// <param name="generationMs">The stream's generation time (<see cref="StreamMetrics.GenerationMs"/>).</param>
    public double FpsWithGeneration(double generationMs) => generationMs + DecodeMs > 0 ? VideoFrames / ((generationMs + DecodeMs) / 1000) : 0;

    /// <summary>Records one decoded block.</summary>
    public void Add(double decodeMs, int videoFrames, double writeMs = 0)
    {
        _latencies[Blocks % Window] = decodeMs;
        Blocks++;
        VideoFrames += videoFrames;
        DecodeMs += decodeMs;
        WriteMs += writeMs;
    }

    private double[] Recent() => Blocks == 0 ? [double.NaN] : _latencies.AsSpan(0, Math.Min(Blocks, Window)).ToArray();
}
