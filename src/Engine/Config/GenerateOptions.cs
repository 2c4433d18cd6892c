// GenerateOptions: one-shot bidirectional generation (TurboDiffusion's workload): F latent frames
// denoised together in a few steps, every frame attending to every frame. The timesteps are the
// stream's by default (4 steps, [1000, 750, 500, 250] shift-warped by 5) and come from the same
// warp (StreamOptions.Warp), so `zoe generate` and `zoe stream` speak one sampler.
namespace Zoetrope.Engine;

/// <summary>The settings of one-shot generation: frames, timesteps, seed.</summary>
public sealed record GenerateOptions
{
    /// <summary>The default frame count: 21 latent frames, 81 video frames (Wan's clip length).</summary>
    public const int DefaultFrames = 21;

    /// <summary>The default shift of the timestep warp.</summary>
    public const double DefaultShift = 5;

    /// <summary>Latent frames generated together.</summary>
    public int Frames { get; init; } = DefaultFrames;

    /// <summary>The denoising steps' timesteps in (0, 1000], after the shift warp, first = noisiest.</summary>
    public IReadOnlyList<double> Timesteps { get; init; } = StreamOptions.Warp(EvenTimesteps(4), DefaultShift);

    /// <summary>The shift <see cref="Timesteps"/> were warped with (the reference numerics rebuild the pipelines' fp32 scheduler grid from it).</summary>
    public double Shift { get; init; } = DefaultShift;

    /// <summary>Seed of the initial and re-noising Gaussian noise (when no noise source is given).</summary>
    public ulong Seed { get; init; } = 42;

    /// <summary>Video frames the latents decode to: 4 per latent frame, 3 fewer for the first (Wan's causal VAE).</summary>
    public int VideoFrames => (4 * Frames) - 3;

    /// <summary><paramref name="steps"/> evenly spaced timesteps before the warp: 1000 (1 - i / steps), i = 0 .. steps - 1.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="steps"/> is not positive.</exception>
    public static double[] EvenTimesteps(int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        return Enumerable.Range(0, steps).Select(i => 1000.0 * (steps - i) / steps).ToArray();
    }

    /// <summary>Throws unless the settings are consistent.</summary>
    /// <exception cref="ArgumentException">The first violated rule, with the values.</exception>
    public void Validate()
    {
        if (Frames <= 0)
        {
            throw new ArgumentException($"generate: frames {Frames} must be positive");
        }
        if (Frames > Attention.Rope.WanRopeTable.Positions)
        {
            throw new ArgumentException($"generate: {Frames} frames pass the {Attention.Rope.WanRopeTable.Positions}-position RoPE table");
        }
        StreamOptions.ValidateSampler("generate", Timesteps, Shift);
    }
}
