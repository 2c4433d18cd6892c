namespace Zoetrope.Engine.Decode;

/// <summary>Which decoder turns latents into video.</summary>
public enum DecoderKind
{
    /// <summary>Wan2.1's VAE decoder (causal 3-D convolutions, about 8x the DiT's pixels of work per frame).</summary>
    Wan,
    /// <summary>The tiny TAEHV decoder for real-time preview.</summary>
    Tiny,
}
