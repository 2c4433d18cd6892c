// TaehvConfig: the shape of a TAEHV decoder (madebyollin/taehv, taehv.py's TAEHV class, base
// variant). Its decoder is a Sequential of 23 modules whose indices are the checkpoint's keys:
//   0 Clamp (tanh(x/3)*3), 1 conv3x3(latent -> F0) + 2 ReLU,
//   3-5 MemBlock(F0), 6 Upsample x2, 7 TGrow(F0, 1), 8 conv3x3(F0 -> F1, no bias),
//   9-11 MemBlock(F1), 12 Upsample x2, 13 TGrow(F1, 2), 14 conv3x3(F1 -> F2, no bias),
//   15-17 MemBlock(F2), 18 Upsample x2, 19 TGrow(F2, 2), 20 conv3x3(F2 -> F3, no bias),
//   21 ReLU, 22 conv3x3(F3 -> 3).
// The time strides (1, 2, 2) are the upstream default decoder_time_upscale = (False, True, True)
// and every stage upsamples space, so a latent frame is 4 frames of 8x the pixels; the first
// 2^2 - 1 = 3 frames of a clip are trimmed (frames_to_trim), giving 1 + 4(T - 1).
namespace Zoetrope.Engine.Decode;

/// <summary>A TAEHV decoder's widths: latent channels and the four stage widths (n_f).</summary>
/// <param name="Name">A label for errors ("taew2_1", "taehv-small").</param>
/// <param name="LatentChannels">Channels of the latents it decodes (16 for Wan 2.1).</param>
/// <param name="Features">n_f: the widths of the three MemBlock stages and of the last convolution.</param>
public sealed record TaehvConfig(string Name, int LatentChannels, IReadOnlyList<int> Features)
{
    /// <summary>Output frames per input frame of each stage's TGrow (upstream's default decoder_time_upscale).</summary>
    public static IReadOnlyList<int> TimeStrides { get; } = [1, 2, 2];

    /// <summary>MemBlocks per stage.</summary>
    public const int MemBlocksPerStage = 3;

    /// <summary>Video pixels per latent pixel along each spatial axis (three x2 upsamplings).</summary>
    public const int SpatialScale = 8;

    /// <summary>Video frames per latent frame before the clip's trim (the product of <see cref="TimeStrides"/>).</summary>
    public const int TemporalScale = 4;

    /// <summary>Frames dropped from the start of each clip (upstream's frames_to_trim = t_upscale - 1).</summary>
    public const int FramesToTrim = TemporalScale - 1;

    /// <summary>The published Wan 2.1 decoder (taew2_1.pth / taew2_1.safetensors): n_f = [256, 128, 64, 64], 16 latent channels.</summary>
    public static TaehvConfig Published { get; } = new("taew2_1", 16, [256, 128, 64, 64]);

    /// <summary>A small decoder of the same structure for the tiny DiTs and the tests: n_f = [16, 8, 8, 8].</summary>
    public static TaehvConfig Small { get; } = new("taehv-small", 16, [16, 8, 8, 8]);

    /// <summary>
    /// The configuration <see cref="TaehvDecoder.Open"/> uses for <paramref name="dit"/>: <see cref="Small"/>
    /// for the tiny family (a model narrower than Wan 1.3B's 1536), <see cref="Published"/> otherwise;
    /// its latent channels are the DiT's.
    /// </summary>
    public static TaehvConfig For(DiTConfig dit)
    {
        ArgumentNullException.ThrowIfNull(dit);
        var c = dit.Dim < DiTConfig.Wan1_3B.Dim ? Small : Published;
        return c.LatentChannels == dit.LatentChannels ? c : c with { LatentChannels = dit.LatentChannels };
    }

    /// <summary>Throws unless every width is positive and there are four of them.</summary>
    /// <exception cref="ArgumentException">The message names the configuration and the bad value.</exception>
    public void Validate()
    {
        if (LatentChannels < 1)
        {
            throw new ArgumentException($"TAEHV config '{Name}': latent channels {LatentChannels} must be positive", nameof(LatentChannels));
        }
        if (Features is null || Features.Count != 4 || Features.Any(f => f < 1))
        {
            throw new ArgumentException($"TAEHV config '{Name}': n_f must be four positive widths, got [{string.Join(", ", Features ?? [])}]", nameof(Features));
        }
    }

    /// <summary>
    /// Multiply-adds per latent pixel for one latent frame in the steady state (it becomes
    /// <see cref="TemporalScale"/> video frames), from the layer shapes. <paramref name="upstream"/>:
    /// as taehv.py runs it (TGrow's 1x1 convolution after the nearest upsampling, then the 3x3 on
    /// each new frame); otherwise as <see cref="TaehvDecoder"/> runs it (TGrow folded into the 3x3).
    /// </summary>
    public double MacsPerLatentPixel(bool upstream)
    {
        Validate();
        double macs = 9.0 * LatentChannels * Features[0];
        double frames = 1, pixels = 1;
        for (int s = 0; s < 3; s++)
        {
            int c = Features[s];
            // MemBlock: conv(2c -> c), conv(c -> c), conv(c -> c), all 3x3.
            macs += frames * pixels * MemBlocksPerStage * 9.0 * ((2.0 * c * c) + (2.0 * c * c));
            pixels *= 4;
            int stride = TimeStrides[s];
            int next = Features[s + 1];
            if (upstream)
            {
                // Upsample, then TGrow's 1x1 (c -> c * stride) at the upsampled size, then the 3x3 on each new frame.
                macs += frames * pixels * c * c * stride;
                frames *= stride;
                macs += frames * pixels * 9.0 * c * next;
            }
            else
            {
                // TGrow folded into the 3x3 (one conv c -> next * stride per input frame, see TaehvDecoder).
                macs += frames * pixels * 9.0 * c * next * stride;
                frames *= stride;
            }
        }
        macs += frames * pixels * 9.0 * Features[3] * 3;
        return macs;
    }
}
