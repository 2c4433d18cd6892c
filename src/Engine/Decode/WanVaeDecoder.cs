// WanVaeDecoder: Wan2.1's VAE decoder (wan/modules/vae.py, WanVAE.decode) as a streaming
// IVideoDecoder on a backend. Per chunk of latent frames:
//   z * std + mean per channel (the published statistics; on the host, where the [C, F, H, W]
//   latents are transposed to channel-last anyway), conv2 (1x1x1), decoder.conv1 (causal 3x3x3),
//   middle (residual, attention, residual), the upsampling stages (residual blocks and Resamples),
//   head (RMS_norm + SiLU, causal 3x3x3 to RGB), clamp(-1, 1), then (x + 1) / 2 for [0, 1] RGB.
// The source decodes one latent frame at a time with a per-conv cache of its input's last frames;
// here every layer takes any number of frames at once and each causal conv keeps its own cache
// (WanVaeConv), each upsample3d its first-frame rule (WanVaeResampleBlock), so a clip split any
// way decodes to the same frames as the whole clip in one call. Activations ping-pong between two
// scratch slots; nothing is allocated per chunk once the buffers have grown to the chunk size.
using Zoetrope.Attention.Norm;

namespace Zoetrope.Engine.Decode;

/// <summary>Wan2.1's causal 3-D VAE decoder, streaming, on a <see cref="Backend"/>.</summary>
internal sealed class WanVaeDecoder : IVideoDecoder
{
    private readonly Backend _backend;
    private readonly DType _dtype;
    private readonly WanVaeScratch _scratch;
    private readonly WanVaeConv _conv2;
    private readonly WanVaeConv _conv1;
    private readonly List<IWanVaeBlock> _blocks = [];
    private readonly Tensor _headGamma;
    private readonly WanVaeConv _head;
    private readonly double[] _mean;
    private readonly double[] _std;
    private bool _disposed;

    /// <summary>
    /// Builds the decoder for <paramref name="latentHeight"/> x <paramref name="latentWidth"/>
    /// latents from <paramref name="weights"/> (copied to the device in <paramref name="dtype"/>,
    /// conv biases in f32; the caller keeps and disposes the host weights).
    /// </summary>
    /// <exception cref="ArgumentException">A non-positive size, a dtype other than f32/f16/bf16, or latent channels other than the 16 the published statistics cover.</exception>
    public WanVaeDecoder(Backend backend, WanVaeWeights weights, int latentHeight, int latentWidth, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        var config = weights.Config;
        config.Validate();
        if (latentHeight <= 0 || latentWidth <= 0)
        {
            throw new ArgumentException($"wan VAE: latent size {latentHeight}x{latentWidth} must be positive");
        }
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"wan VAE: dtype {dtype.Name()} is not f32, f16 or bf16", nameof(dtype));
        }
        if (config.ZDim != WanVaeConfig.LatentMean.Count)
        {
            throw new ArgumentException($"wan VAE '{config.Name}': {config.ZDim} latent channels, but the published latent statistics are for {WanVaeConfig.LatentMean.Count}");
        }
        (_backend, _dtype, Config) = (backend, dtype, config);
        (LatentHeight, LatentWidth) = (latentHeight, latentWidth);
        _mean = [.. WanVaeConfig.LatentMean];
        _std = [.. WanVaeConfig.LatentStd];
        _scratch = new WanVaeScratch(backend, dtype);
        _conv2 = new WanVaeConv(backend, dtype, weights["conv2.weight"], weights["conv2.bias"], latentHeight, latentWidth);
        _conv1 = new WanVaeConv(backend, dtype, weights["decoder.conv1.weight"], weights["decoder.conv1.bias"], latentHeight, latentWidth);
        foreach (var spec in config.Blocks)
        {
            int h = latentHeight * spec.Scale, w = latentWidth * spec.Scale;
            _blocks.Add(spec.Kind switch
            {
                WanVaeBlockKind.Residual => new WanVaeResidualBlock(backend, dtype, weights, spec, h, w),
                WanVaeBlockKind.Attention => new WanVaeAttentionBlock(backend, dtype, weights, spec, h, w),
                _ => new WanVaeResampleBlock(backend, dtype, weights, spec, h, w),
            });
        }
        int s = config.SpatialScale;
        _headGamma = WanVaeConv.Vector(backend, dtype, weights["decoder.head.0.gamma"]);
        _head = new WanVaeConv(backend, dtype, weights["decoder.head.2.weight"], weights["decoder.head.2.bias"], latentHeight * s, latentWidth * s);
    }

    /// <summary>
    /// The decoder for <paramref name="dit"/>'s latents: weights from <paramref name="weightsPath"/>
    /// (safetensors or Wan2.1_VAE.pth; the width is read from the file), or seeded random weights
    /// at <see cref="WanVaeConfig.For"/>'s config when it is null.
    /// </summary>
    /// <exception cref="ZoetropeWeightsException">The checkpoint's decoder keys do not fit (all named).</exception>
    /// <exception cref="ArgumentException">The DiT's latents are not 16 channels, or the dtype is not f32/f16/bf16.</exception>
    public static IVideoDecoder Open(Backend backend, DiTConfig dit, DType dtype, string? weightsPath, int seed)
    {
        ArgumentNullException.ThrowIfNull(dit);
        if (dit.LatentChannels != WanVaeConfig.LatentMean.Count)
        {
            throw new ArgumentException($"wan VAE: model '{dit.Name}' has {dit.LatentChannels} latent channels; the Wan VAE takes {WanVaeConfig.LatentMean.Count}", nameof(dit));
        }
        using var weights = weightsPath is null
            ? WanVaeWeights.Random(WanVaeConfig.For(dit), unchecked((ulong)seed))
            : WanVaeWeights.Load(weightsPath);
        return new WanVaeDecoder(backend, weights, dit.LatentHeight, dit.LatentWidth, dtype);
    }

    /// <summary>The decoder's shape.</summary>
    public WanVaeConfig Config { get; }

    /// <inheritdoc />
    public string Name => "wan";

    /// <inheritdoc />
    public int LatentChannels => Config.ZDim;

    /// <inheritdoc />
    public int LatentHeight { get; }

    /// <inheritdoc />
    public int LatentWidth { get; }

    /// <inheritdoc />
    public int SpatialScale => Config.SpatialScale;

    /// <inheritdoc />
    public int TemporalScale => Config.TemporalScale;

    /// <inheritdoc />
    public long FramesSeen { get; private set; }

    /// <summary>Device bytes of the working buffers (they grow to the largest chunk decoded).</summary>
    public long ScratchBytes => _scratch.Bytes;

    /// <inheritdoc />
    public VideoFrames Decode(float[] latents, int frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(latents);
        int c = LatentChannels, h = LatentHeight, w = LatentWidth;
        int height = h * SpatialScale, width = w * SpatialScale;
        if (frames < 0 || latents.LongLength != (long)frames * c * h * w)
        {
            throw new ArgumentException(
                $"wan VAE: latents hold {latents.LongLength} floats; {frames} frames of [C={c}, H={h}, W={w}] need {(long)Math.Max(frames, 0) * c * h * w}", nameof(latents));
        }
        if (frames == 0)
        {
            return VideoFrames.Empty(height, width);
        }
        // [C, F, H, W] -> [F, H, W, C], un-normalised: z / (1 / std) + mean, as WanVAE_.decode;
        // each value rounded once, from double, straight into the dtype's bytes (no double array).
        var z = new byte[latents.LongLength * _dtype.Size()];
        long plane = (long)h * w, framePlane = frames * plane;
        for (int f = 0; f < frames; f++)
        {
            for (long p = 0; p < plane; p++)
            {
                for (int ch = 0; ch < c; ch++)
                {
                    ElementConvert.Write(_dtype, z, ((f * plane) + p) * c + ch, (latents[(ch * framePlane) + (f * plane) + p] * _std[ch]) + _mean[ch]);
                }
            }
        }
        var input = _scratch.Take("lat", new Shape(frames, h, w, c));
        input.CopyFrom(z);
        var window = _conv1.Window(_scratch, frames);
        _conv2.Run(input, null, _conv1.Fresh(window));
        var x = _scratch.Take("x0", new Shape(frames, h, w, _conv1.Cout));
        _conv1.Run(window, null, x);
        int slot = 0;
        foreach (var block in _blocks)
        {
            slot ^= 1;
            x = block.Forward(_scratch, x, slot == 0 ? "x0" : "x1");
        }
        int outFrames = (int)x.Shape[0];
        window = _head.Window(_scratch, outFrames);
        ChannelRmsNorm.Run(x, _headGamma, null, _head.Fresh(window), silu: true);
        var rgb = _scratch.Take("rgb", new Shape(outFrames, height, width, 3));
        _head.Run(window, null, rgb);
        var pixels = rgb.ToFloats();
        // Nothing queued reads the buffers grown out of this call any more: they can go.
        _backend.Synchronize();
        _scratch.Release();
        for (long i = 0; i < pixels.LongLength; i++)
        {
            // clamp_(-1, 1) as WanVAE.decode, then [-1, 1] -> [0, 1].
            pixels[i] = (Math.Clamp(pixels[i], -1f, 1f) + 1f) * 0.5f;
        }
        FramesSeen += frames;
        return new VideoFrames(outFrames, height, width, pixels);
    }

    /// <inheritdoc />
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _conv1.Reset();
        foreach (var block in _blocks)
        {
            block.Reset();
        }
        _head.Reset();
        FramesSeen = 0;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _conv2.Dispose();
        _conv1.Dispose();
        foreach (var block in _blocks)
        {
            block.Dispose();
        }
        _headGamma.Dispose();
        _head.Dispose();
        _scratch.Dispose();
    }
}
