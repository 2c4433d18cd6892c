// StreamOptions: how a streaming session generates, with the three presets of
// ../shared/REFERENCE.md. Window and sinks count latent frames; both include whole blocks so
// the cache holds the same frames the block-causal mask of a full-sequence forward would show.
namespace Zoetrope.Engine;

/// <summary>The scheduler's settings: blocks, steps, cache window and sinks, RoPE policy.</summary>
public sealed record StreamOptions
{
    /// <summary>Latent frames per block (3: 12 video frames).</summary>
    public int BlockFrames { get; init; } = 3;

    /// <summary>The denoising steps' timesteps in [0, 1000], after the shift warp, first = noisiest.</summary>
    public IReadOnlyList<double> Timesteps { get; init; } = Warp([1000, 750, 500, 250], 5);

    /// <summary>Most recent latent frames kept in the cache, the current block included.</summary>
    public int WindowFrames { get; init; } = 12;

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

    /// <summary>Whether <c>SwitchPrompt</c> keeps the sinks' K/V (true) or re-runs them with the new prompt too.</summary>
    public bool KeepSinksOnSwitch { get; init; } = true;

    /// <summary>Blocks after which the cache is full and every further block evicts (benchmarks warm up this far).</summary>
    public int BlocksToFillCache => (SinkFrames + WindowFrames) / BlockFrames;

    /// <summary>Self-Forcing: window 21, no sinks.</summary>
    public static StreamOptions SelfForcing { get; } = new() { WindowFrames = 21, SinkFrames = 0 };

    /// <summary>LongLive: window 12, sink 3.</summary>
    public static StreamOptions LongLive { get; } = new() { WindowFrames = 12, SinkFrames = 3 };

    /// <summary>Deep Sink: window 21, 12 sink frames with their temporal RoPE re-aligned.</summary>
    public static StreamOptions DeepSink { get; } = new() { WindowFrames = 21, SinkFrames = 12, RealignSinks = true };

    /// <summary>
    /// TurboDiffusion's configuration streamed: LongLive's cache (window 12, sink 3) and 4 steps;
    /// the kernels (SageSLA at top-k 0.1, W8A8 INT8 with 128x128 blocks) are <see cref="ModelOptions.Turbo"/>.
    /// </summary>
    public static StreamOptions Turbo { get; } = LongLive with { Timesteps = Warp([1000, 750, 500, 250], 5) };

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
        if (Timesteps.Count == 0 || Timesteps.Any(t => !(t > 0 && t <= 1000)))
        {
            throw new ArgumentException($"stream: timesteps [{string.Join(", ", Timesteps)}] must be non-empty and in (0, 1000]");
        }
        for (int i = 1; i < Timesteps.Count; i++)
        {
            if (!(Timesteps[i] < Timesteps[i - 1]))
            {
                throw new ArgumentException($"stream: timesteps [{string.Join(", ", Timesteps)}] must decrease");
            }
        }
        if (WindowFrames < BlockFrames || WindowFrames % BlockFrames != 0)
        {
            throw new ArgumentException($"stream: window {WindowFrames} frames must be a positive multiple of the {BlockFrames}-frame block");
        }
        if (SinkFrames < 0 || SinkFrames % BlockFrames != 0)
        {
            throw new ArgumentException($"stream: sinks {SinkFrames} frames must be a multiple of the {BlockFrames}-frame block");
        }
    }
}
