// StreamOptions: how a streaming session generates, with the presets of ../shared/REFERENCE.md.
//
// The window convention, in one place. Sinks and window count latent frames in whole blocks:
//   keys a block attends to = the SinkFrames first frames + the last WindowFrames frames, the
//                             block's own frames included (fewer while the stream is shorter);
//   cache                   = SinkFrames + WindowFrames frames (CacheFrames), nothing else.
// LongLive's `local_attn_size` counts both (its `max_attention_size = local_attn_size * 1560`
// and `local_budget = max_attention_size - sink_tokens`): local_attn_size 12 with sink_size 3 is
// SinkFrames 3 + WindowFrames 9 (FromLocalAttention). Self-Forcing's cache is 21 frames
// (32760 tokens) with no sinks: WindowFrames 21. The block-causal mask of a full-sequence forward
// (FullSequenceAttention.StreamMask) shows each block the same frames.
namespace Zoetrope.Engine;

/// <summary>The scheduler's settings: blocks, steps, cache window and sinks, RoPE policy.</summary>
public sealed record StreamOptions
{
    /// <summary>Latent frames per block (3: 12 video frames).</summary>
    public int BlockFrames { get; init; } = 3;

    /// <summary>The denoising steps' timesteps in [0, 1000], after the shift warp, first = noisiest.</summary>
    public IReadOnlyList<double> Timesteps { get; init; } = Warp([1000, 750, 500, 250], 5);

    /// <summary>The shift <see cref="Timesteps"/> were warped with (the reference numerics rebuild the pipelines' fp32 scheduler grid from it).</summary>
    public double Shift { get; init; } = 5;

    /// <summary>Most recent latent frames a block attends to besides the sinks, its own frames included (LongLive: 12 - 3 = 9).</summary>
    public int WindowFrames { get; init; } = 9;

    /// <summary>Leading frames kept for the whole run (never evicted).</summary>
    public int SinkFrames { get; init; } = 3;

    /// <summary>Deep Sink: under <see cref="RopePolicy.Absolute"/>, give the sinks temporal positions just before the window instead of 0..s-1.</summary>
    public bool RealignSinks { get; init; }

    /// <summary>How cached keys are rotated.</summary>
    public RopePolicy Rope { get; init; } = RopePolicy.Absolute;

    /// <summary>Which K/V a finished block leaves in the cache.</summary>
    public KvWriteMode KvWrite { get; init; } = KvWriteMode.CleanRerun;

    /// <summary>Seed of the initial and re-noising Gaussian noise.</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>The mask of a prompt switch's re-run: block-causal (the <see cref="LongLive"/> preset: none, as LongLive 1.0).</summary>
    public RecacheMask Recache { get; init; } = RecacheMask.BlockCausal;

    /// <summary>What a prompt switch does with the sinks' K/V: keep them (the <see cref="LongLive"/> preset: once the cache has evicted a frame, as LongLive 1.0).</summary>
    public SinkSwitch SwitchSinks { get; init; } = SinkSwitch.Keep;

    /// <summary>Frames the cache holds: sinks + window (LongLive's <c>local_attn_size</c>).</summary>
    public int CacheFrames => SinkFrames + WindowFrames;

    /// <summary>Blocks after which the cache is full and every further block evicts (benchmarks warm up this far).</summary>
    public int BlocksToFillCache => CacheFrames / BlockFrames;

    /// <summary>Self-Forcing: a 21-frame cache (32760 tokens), no sinks.</summary>
    public static StreamOptions SelfForcing { get; } = new() { WindowFrames = 21, SinkFrames = 0 };

    /// <summary>
    /// LongLive 1.0 (<c>local_attn_size: 12</c>, <c>sink_size: 3</c>): a 12-frame cache, 3 sinks + the last 9 frames;
    /// a prompt switch re-runs the cached frames unmasked and keeps the sinks once the cache has evicted a frame.
    /// </summary>
    public static StreamOptions LongLive { get; } = FromLocalAttention(12, 3) with { Recache = RecacheMask.None, SwitchSinks = SinkSwitch.KeepAfterEviction };

    /// <summary>Deep Sink: window 21, 12 sink frames with their temporal RoPE re-aligned.</summary>
    public static StreamOptions DeepSink { get; } = new() { WindowFrames = 21, SinkFrames = 12, RealignSinks = true };

    /// <summary>
    /// TurboDiffusion's configuration streamed: LongLive's cache (12 frames, 3 of them sinks) and 4 steps;
    /// the kernels (SageSLA at top-k 0.1, W8A8 INT8 with 128x128 blocks) are <see cref="ModelOptions.Turbo"/>.
    /// </summary>
    public static StreamOptions Turbo { get; } = LongLive with { Timesteps = Warp([1000, 750, 500, 250], 5) };

    /// <summary>
    /// The options of a LongLive-style config: <paramref name="localAttnSize"/> frames attended in all
    /// (<c>local_attn_size</c>), <paramref name="sinkSize"/> of them sinks (<c>sink_size</c>).
    /// </summary>
    /// <exception cref="ArgumentException">Fewer frames than sinks plus one block.</exception>
    public static StreamOptions FromLocalAttention(int localAttnSize, int sinkSize)
    {
        if (sinkSize < 0 || localAttnSize - sinkSize <= 0)
        {
            throw new ArgumentException($"stream: local_attn_size {localAttnSize} must exceed sink_size {sinkSize} (it counts the sinks)");
        }
        var o = new StreamOptions { WindowFrames = localAttnSize - sinkSize, SinkFrames = sinkSize };
        o.Validate();
        return o;
    }

    /// <summary>The preset called <paramref name="name"/> (self-forcing, longlive, deep-sink, turbo).</summary>
    /// <exception cref="ArgumentException">No such preset.</exception>
    public static StreamOptions Preset(string name) => name.ToLowerInvariant() switch
    {
        "self-forcing" => SelfForcing,
        "longlive" => LongLive,
        "deep-sink" => DeepSink,
        "turbo" => Turbo,
        _ => throw new ArgumentException($"unknown preset '{name}'; presets: self-forcing, longlive, deep-sink, turbo", nameof(name)),
    };

    /// <summary>Shift warp of flow-matching timesteps: s' = shift*s / (1 + (shift-1)*s), s = t/1000.</summary>
    public static double[] Warp(IReadOnlyList<double> timesteps, double shift) =>
        timesteps.Select(t => 1000.0 * (shift * (t / 1000.0)) / (1 + ((shift - 1) * (t / 1000.0)))).ToArray();

    /// <summary>Throws unless the settings are consistent.</summary>
    /// <exception cref="ArgumentException">The first violated rule, with the values.</exception>
    public void Validate()
    {
        if (BlockFrames <= 0)
        {
            throw new ArgumentException($"stream: block frames {BlockFrames} must be positive");
        }
        ValidateSampler("stream", Timesteps, Shift);
        if (WindowFrames < BlockFrames || WindowFrames % BlockFrames != 0)
        {
            throw new ArgumentException($"stream: window {WindowFrames} frames must be a positive multiple of the {BlockFrames}-frame block");
        }
        if (SinkFrames < 0 || SinkFrames % BlockFrames != 0)
        {
            throw new ArgumentException($"stream: sinks {SinkFrames} frames must be a multiple of the {BlockFrames}-frame block");
        }
    }

    /// <summary>The sampler's rules, shared by streams and one-shot generation: a positive finite shift, timesteps non-empty, in (0, 1000], decreasing.</summary>
    /// <exception cref="ArgumentException">The first violated rule, prefixed with <paramref name="who"/>.</exception>
    internal static void ValidateSampler(string who, IReadOnlyList<double> timesteps, double shift)
    {
        if (!(shift > 0) || double.IsInfinity(shift))
        {
            throw new ArgumentException($"{who}: shift {shift} must be positive and finite");
        }
        if (timesteps.Count == 0 || timesteps.Any(t => !(t > 0 && t <= 1000)))
        {
            throw new ArgumentException($"{who}: timesteps [{string.Join(", ", timesteps)}] must be non-empty and in (0, 1000]");
        }
        for (int i = 1; i < timesteps.Count; i++)
        {
            if (!(timesteps[i] < timesteps[i - 1]))
            {
                throw new ArgumentException($"{who}: timesteps [{string.Join(", ", timesteps)}] must decrease");
            }
        }
    }
}
