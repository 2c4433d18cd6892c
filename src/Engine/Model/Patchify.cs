// Patchify: Wan's Conv3d patch embedding (kernel = stride = 1x2x2) as a GEMM. A latent
// [C, F, H, W] becomes token rows [F*(H/2)*(W/2), C*2*2] ordered (frame, row, column) with
// features (c, kh, kw), which is the Conv3d weight [dim, C, 1, 2, 2] read as [dim, C*4]. The head's
// 64 outputs per token unpatchify in Wan's order (kh, kw, c): einsum 'fhwpqrc->cfphqwr'.
namespace Zoetrope.Engine;

/// <summary>Latent video &lt;-&gt; patch tokens.</summary>
internal static class Patchify
{
    /// <summary>Token rows of <paramref name="latents"/> [C, F, H, W] (f32), as [F*T, C*4].</summary>
    public static float[] ToTokens(DiTConfig c, ReadOnlySpan<float> latents, int frames)
    {
        int ch = c.LatentChannels, h = c.LatentHeight, w = c.LatentWidth, gh = c.GridHeight, gw = c.GridWidth;
        ExpectLength(c, latents.Length, frames, nameof(latents));
        var tokens = new float[(long)frames * gh * gw * c.PatchFeatures];
        long o = 0;
        for (int f = 0; f < frames; f++)
        {
            for (int i = 0; i < gh; i++)
            {
                for (int j = 0; j < gw; j++)
                {
                    for (int cc = 0; cc < ch; cc++)
                    {
                        for (int kh = 0; kh < 2; kh++)
                        {
                            for (int kw = 0; kw < 2; kw++)
                            {
                                tokens[o++] = latents[(int)((((((long)cc * frames) + f) * h) + (2 * i) + kh) * w) + (2 * j) + kw];
                            }
                        }
                    }
                }
            }
        }
        return tokens;
    }

    /// <summary>The latent [C, F, H, W] of head outputs <paramref name="tokens"/> [F*T, 4*C] (features (kh, kw, c)).</summary>
    public static float[] FromTokens(DiTConfig c, ReadOnlySpan<float> tokens, int frames)
    {
        int ch = c.LatentChannels, h = c.LatentHeight, w = c.LatentWidth, gh = c.GridHeight, gw = c.GridWidth;
        if (tokens.Length != (long)frames * c.FrameTokens * c.PatchFeatures)
        {
            throw new ArgumentException($"unpatchify: tokens hold {tokens.Length} values, expected {frames} frames x {c.FrameTokens} x {c.PatchFeatures}", nameof(tokens));
        }
        var latents = new float[(long)ch * frames * h * w];
        long t = 0;
        for (int f = 0; f < frames; f++)
        {
            for (int i = 0; i < gh; i++)
            {
                for (int j = 0; j < gw; j++, t++)
                {
                    for (int kh = 0; kh < 2; kh++)
                    {
                        for (int kw = 0; kw < 2; kw++)
                        {
                            for (int cc = 0; cc < ch; cc++)
                            {
                                latents[(((((long)cc * frames) + f) * h) + (2 * i) + kh) * w + (2 * j) + kw] =
                                    tokens[(int)((t * c.PatchFeatures) + (((kh * 2) + kw) * ch) + cc)];
                            }
                        }
                    }
                }
            }
        }
        return latents;
    }

    /// <summary>Throws unless <paramref name="length"/> is <paramref name="frames"/> latent frames.</summary>
    public static void ExpectLength(DiTConfig c, long length, int frames, string name)
    {
        if (length != (long)frames * c.FrameLatents)
        {
            throw new ArgumentException(
                $"latents '{name}': expected [{c.LatentChannels}, {frames}, {c.LatentHeight}, {c.LatentWidth}] = {(long)frames * c.FrameLatents} floats, got {length}", name);
        }
    }
}
