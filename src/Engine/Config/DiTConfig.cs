// DiTConfig: the shape of a Wan-style DiT. Presets: `tiny` (tests and the CPU demo), `wan-1.3b`
// and `wan-14b` (../shared/REFERENCE.md). Everything the model, the weight table and the KV
// pool size themselves from lives here; nothing else hard-codes a dimension.
namespace Zoetrope.Engine;

/// <summary>Shapes of a Wan-style diffusion transformer and of its latent video.</summary>
/// <param name="Name">Preset name.</param>
/// <param name="Dim">Hidden size.</param>
/// <param name="Heads">Attention heads (Dim / Heads is the head dim: 64 or 128).</param>
/// <param name="Layers">Transformer blocks.</param>
/// <param name="FfnDim">FFN hidden size.</param>
/// <param name="LatentChannels">Latent channels (16 for Wan's VAE).</param>
/// <param name="LatentHeight">Latent rows per frame (60 at 480p).</param>
/// <param name="LatentWidth">Latent columns per frame (104 at 832 wide).</param>
/// <param name="TextTokens">Text tokens (512 for umT5).</param>
/// <param name="TextDim">Text embedding width (4096 for umT5-XXL).</param>
/// <param name="FreqDim">Timestep sinusoid size (256).</param>
public sealed record DiTConfig(
    string Name, int Dim, int Heads, int Layers, int FfnDim, int LatentChannels, int LatentHeight, int LatentWidth,
    int TextTokens, int TextDim, int FreqDim = 256)
{
    /// <summary>Spatial patch (1 x 2 x 2, Conv3d stride = kernel).</summary>
    public const int Patch = 2;

    /// <summary>Epsilon of every LayerNorm and RMSNorm.</summary>
    public const float Eps = 1e-6f;

    /// <summary>Head dimension.</summary>
    public int HeadDim => Dim / Heads;

    /// <summary>Token rows per frame (latent height / 2).</summary>
    public int GridHeight => LatentHeight / Patch;

    /// <summary>Token columns per frame (latent width / 2).</summary>
    public int GridWidth => LatentWidth / Patch;

    /// <summary>Tokens per latent frame (1560 at 480x832).</summary>
    public int FrameTokens => GridHeight * GridWidth;

    /// <summary>Features of one patch: channels x 2 x 2 (the patch embedding's K and the head's N).</summary>
    public int PatchFeatures => LatentChannels * Patch * Patch;

    /// <summary>Latent floats per frame.</summary>
    public int FrameLatents => LatentChannels * LatentHeight * LatentWidth;

    /// <summary>Tiny: dim 128, 2 heads of 64, 2 layers, FFN 256, 16 channels, 8x8 latent, 32 text tokens of 256.</summary>
    public static DiTConfig Tiny { get; } = new("tiny", 128, 2, 2, 256, 16, 8, 8, 32, 256);

    /// <summary>
    /// Micro: the tiny family at its smallest (dim 64, one 64-wide head, one layer, FFN 128, 4x4
    /// latents = 4 tokens a frame, 8 text tokens of 32), for ILGPU's CPU accelerator, whose tiled
    /// kernels pay a barrier per thread per tile: smoke runs and CPU-backend tests.
    /// </summary>
    public static DiTConfig Micro { get; } = new("micro", 64, 1, 1, 128, 16, 4, 4, 8, 32);

    /// <summary>Wan2.1 T2V 1.3B at 480x832.</summary>
    public static DiTConfig Wan1_3B { get; } = new("wan-1.3b", 1536, 12, 30, 8960, 16, 60, 104, 512, 4096);

    /// <summary>Wan2.1 T2V 14B at 480x832.</summary>
    public static DiTConfig Wan14B { get; } = new("wan-14b", 5120, 40, 40, 13824, 16, 60, 104, 512, 4096);

    /// <summary>The presets by name.</summary>
    public static IReadOnlyList<DiTConfig> Presets { get; } = [Micro, Tiny, Wan1_3B, Wan14B];

    /// <summary>The preset called <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such preset; the message lists them.</exception>
    public static DiTConfig Get(string name) =>
        Presets.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown model '{name}'; presets: {string.Join(", ", Presets.Select(p => p.Name))}", nameof(name));

    /// <summary>Throws unless the shapes are ones the kernels serve.</summary>
    /// <exception cref="ArgumentException">The first violated rule, with the values.</exception>
    public void Validate()
    {
        if (Dim <= 0 || Heads <= 0 || Dim % Heads != 0 || HeadDim is not (64 or 128))
        {
            throw new ArgumentException($"model '{Name}': dim {Dim} / heads {Heads} must give a head dim of 64 or 128");
        }
        if (Layers <= 0 || FfnDim <= 0 || LatentChannels <= 0 || TextTokens <= 0 || TextDim <= 0 || FreqDim <= 0 || FreqDim % 2 != 0)
        {
            throw new ArgumentException($"model '{Name}': layers, FFN, channels, text and an even timestep dim must be positive");
        }
        if (LatentHeight <= 0 || LatentWidth <= 0 || LatentHeight % Patch != 0 || LatentWidth % Patch != 0)
        {
            throw new ArgumentException($"model '{Name}': latent {LatentHeight}x{LatentWidth} must be positive multiples of the {Patch}x{Patch} patch");
        }
    }
}
