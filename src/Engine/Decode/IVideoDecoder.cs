namespace Zoetrope.Engine.Decode;

/// <summary>
/// A streaming latent-to-video decoder (Wan2.1's VAE decoder, or the tiny TAEHV one). The contract
/// both keep: feeding a clip's latent frames in any split (a frame, a block, the whole clip) gives
/// the same video frames as decoding the whole clip at once, because every layer that looks back
/// in time keeps the last frames it needs in a per-layer cache. The first latent frame of a clip
/// decodes to one video frame, every later one to <see cref="TemporalScale"/>
/// (1 + 4(T - 1) frames for T latent frames).
/// </summary>
public interface IVideoDecoder : IDisposable
{
    /// <summary>"wan" or "tiny".</summary>
    string Name { get; }

    /// <summary>Latent channels it takes (16 for Wan2.1).</summary>
    int LatentChannels { get; }

    /// <summary>Latent rows per frame.</summary>
    int LatentHeight { get; }

    /// <summary>Latent columns per frame.</summary>
    int LatentWidth { get; }

    /// <summary>Video pixels per latent pixel along each spatial axis (8).</summary>
    int SpatialScale { get; }

    /// <summary>Video frames per latent frame after the first (4).</summary>
    int TemporalScale { get; }

    /// <summary>Latent frames decoded since construction or the last <see cref="Reset"/>.</summary>
    long FramesSeen { get; }

    /// <summary>
    /// Decodes the clip's next <paramref name="frames"/> latent frames, <paramref name="latents"/>
    /// [C, frames, H, W] (f32, the layout of <see cref="LatentBlock.Latents"/>): the video frames they add.
    /// </summary>
    /// <exception cref="ArgumentException">The length is not frames x C x H x W; the message says both.</exception>
    VideoFrames Decode(float[] latents, int frames);

    /// <summary>Forgets the cached frames: the next <see cref="Decode"/> starts a new clip.</summary>
    void Reset();
}
