// StreamBench: the `stream` rows of a benchmark result. One row per kernel variant (dense/bf16,
// dense/W8A8, SLA/W8A8) of the longlive preset with seeded random weights: the tiny model on CPU
// backends, wan-1.3b on GPUs. The cache is filled past its window first, so every timed block
// evicts; each sample is one block's wall time (4 steps + the clean re-run, synchronized).
// Model per backend: wan-1.3b on GPUs, tiny on reference, micro on ilgpu-cpu (CPU accelerator).
using Zoetrope.Quant;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Engine;

/// <summary>Streaming-block rows for a benchmark report.</summary>
public static class StreamBench
{
    /// <summary>The variants measured: attention kernel and linear path.</summary>
    public static IReadOnlyList<(AttentionMode Attention, LinearPath Linear)> Variants { get; } =
        [(AttentionMode.Dense, LinearPath.Bf16), (AttentionMode.Dense, LinearPath.Int8), (AttentionMode.Sla, LinearPath.Int8)];

    /// <summary>The model measured by default: Wan-1.3B on GPUs, tiny on the reference, micro on ILGPU's CPU.</summary>
    public static DiTConfig ConfigFor(BackendKind kind) =>
        kind is BackendKind.IlgpuCuda or BackendKind.Cuda ? DiTConfig.Wan1_3B : kind == BackendKind.Reference ? DiTConfig.Tiny : DiTConfig.Micro;

    /// <summary>The activation dtype: bf16 on GPUs, f32 on CPUs.</summary>
    public static DType DTypeFor(BackendKind kind) => kind is BackendKind.IlgpuCuda or BackendKind.Cuda ? DType.BF16 : DType.F32;

    /// <summary>The largest of the variants' estimates (one model is alive at a time; the weights are shared).</summary>
    public static MemoryEstimate Estimate(BackendKind kind) =>
        Variants.Select(v => MemoryEstimate.For(ConfigFor(kind), new ModelOptions { Activations = DTypeFor(kind), Attention = v.Attention, Linear = v.Linear }, StreamOptions.LongLive, kind))
            .MaxBy(e => e.HostBytes + e.DeviceBytes)!;

    /// <summary>
    /// Measures <paramref name="blocks"/> blocks per variant on <paramref name="backend"/>, after
    /// filling the cache (or, with <paramref name="warm"/> false, from an empty one: smoke runs).
    /// </summary>
    public static IReadOnlyList<BenchCase> Measure(Backend backend, int blocks, DiTConfig? config = null, bool warm = true)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        config ??= ConfigFor(backend.Kind);
        var dtype = DTypeFor(backend.Kind);
        var preset = StreamOptions.LongLive;
        using var weights = WanWeights.Random(config, 1);
        using var text = GaussianNoise.Sample(1, new Shape(config.TextTokens, config.TextDim), "text");
        var rows = new List<BenchCase>();
        foreach (var (attention, linear) in Variants)
        {
            using var model = new WanModel(backend, weights, new ModelOptions { Activations = dtype, Attention = attention, Linear = linear });
            using var session = new StreamingSession(model, text, preset);
            int warmBlocks = warm ? preset.BlocksToFillCache : 0;
            for (int i = 0; i < warmBlocks; i++)
            {
                session.GenerateBlock();
            }
            var samples = Enumerable.Range(0, blocks).Select(_ => session.GenerateBlock().LatencyMs).ToArray();
            var stats = TimingStats.From(samples);
            string label = FormattableString.Invariant(
                $"{config.Name} longlive {attention.ToString().ToLowerInvariant()}+{(linear == LinearPath.Bf16 ? dtype.Name() : "w8a8")} {preset.BlockFrames}-frame blocks x {preset.Timesteps.Count} steps ({12000 / stats.MedianMs:0.0} FPS)");
            rows.Add(new BenchCase("stream", backend.Name, label, dtype.Name(), stats.Iterations, stats.MedianMs, stats.MinMs, stats.P90Ms,
                0, 0, null, null, null, stats.SamplesMs));
        }
        return rows;
    }
}
