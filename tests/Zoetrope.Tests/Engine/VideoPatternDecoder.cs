using Zoetrope.Engine.Decode;

namespace Zoetrope.Tests.Engine;

/// <summary>
/// A test double of <see cref="IVideoDecoder"/>: a deterministic pattern that keeps the real
/// decoders' frame contract (1 video frame for a clip's first latent frame, 4 for each later one)
/// and depends on its input (red follows the latent's first channel under the pixel, green and
/// blue are gradients over x and the frame number), so the writers can be tested with no decoder.
/// </summary>
internal sealed class VideoPatternDecoder(int latentHeight, int latentWidth, int scale = 8, int channels = 16) : IVideoDecoder
{
    public string Name => "pattern";

    public int LatentChannels => channels;

    public int LatentHeight => latentHeight;

    public int LatentWidth => latentWidth;

    public int SpatialScale => scale;

    public int TemporalScale => 4;

    public long FramesSeen { get; private set; }

    /// <summary>Video frames decoded so far (the absolute index of the next one).</summary>
    public long VideoFramesOut { get; private set; }

    public VideoFrames Decode(float[] latents, int frames)
    {
        int plane = latentHeight * latentWidth;
        if (latents.Length != channels * frames * plane)
        {
            throw new ArgumentException($"latents: expected {channels * frames * plane} floats, got {latents.Length}");
        }
        int count = (4 * frames) - (FramesSeen == 0 ? 3 : 0);
        int h = latentHeight * scale, w = latentWidth * scale;
        var rgb = new float[count * h * w * 3];
        for (int k = 0; k < count; k++)
        {
            long index = VideoFramesOut + k;
            // Video frame index -> latent frame of this call: frame 0 alone, then 4 per latent frame.
            int lf = (int)Math.Min(frames - 1, FramesSeen == 0 ? (k + 3) / 4 : k / 4);
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    int o = (((k * h) + y) * w + x) * 3;
                    float z = latents[(lf * plane) + ((y / scale) * latentWidth) + (x / scale)];
                    rgb[o] = 1f / (1f + MathF.Exp(-z));
                    rgb[o + 1] = w == 1 ? 0 : x / (float)(w - 1);
                    rgb[o + 2] = index % 16 / 15f;
                }
            }
        }
        FramesSeen += frames;
        VideoFramesOut += count;
        return new VideoFrames(count, h, w, rgb);
    }

    public void Reset()
    {
        FramesSeen = 0;
        VideoFramesOut = 0;
    }

    public void Dispose()
    {
    }

    /// <summary>The blocks of a stream of <paramref name="blocks"/> blocks of 3 latent frames, seeded latents.</summary>
    public IEnumerable<Zoetrope.Engine.LatentBlock> Stream(int blocks, int seed = 7)
    {
        var random = new Random(seed);
        const int f = 3;
        for (int b = 0; b < blocks; b++)
        {
            var latents = new float[channels * f * latentHeight * latentWidth];
            for (int i = 0; i < latents.Length; i++)
            {
                latents[i] = (float)((random.NextDouble() * 4) - 2);
            }
            yield return new Zoetrope.Engine.LatentBlock(b, b * f, f, latents, 1.0, (4 * f) - (b == 0 ? 3 : 0));
        }
    }
}
