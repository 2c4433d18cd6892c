// TaehvDecoder: the tiny TAEHV decoder (madebyollin/taehv, base variant; the Wan 2.1 checkpoint is
// taew2_1) as a streaming IVideoDecoder built from conv3d. Every layer of taehv.py's decoder maps
// onto one convolution over channel-last frames [T, H, W, C]:
// - Clamp (3 tanh(x/3)) and the [C, F, H, W] -> [F, H, W, C] permute are done on the host.
// - A 3x3 conv (+ ReLU) is conv3d with Kt = 1 (frames are the batch; act fused).
// - MemBlock(x, past) = ReLU(conv(ReLU(conv(ReLU(conv(cat[x, past])))) + x)): its first conv is
//   conv3d with Kt = 2 (time tap 1 reads x with W[:, :C], tap 0 the previous frame with W[:, C:]),
//   run over the block's input with its previous frame in front (frame 0 of the input buffer: the
//   last input frame of the previous call, zeros at a clip's start as upstream's empty memory), so
//   a whole clip and any split of it give the same frames; the skip (identity, n_in == n_out in the
//   decoder) and the ReLU fuse into the last conv's epilogue (residual + act).
// - Upsample x2, TGrow(C, S) (1x1, C -> C*S, channel group j of frame t -> frame t*S + j) and the
//   3x3 conv after it fold into ONE conv3d: nearest upsampling commutes with a 1x1 conv, and two
//   linear maps compose, so the 3x3 weights times each group of TGrow's (W . G_j, composed once
//   in double at load) with upsample = 2 and timeShuffle = S give the same frames, without TGrow's
//   output or the upsampled tensor ever existing.
// - The last ReLU fuses into the conv before it; the output is clamped to [0, 1] on the host, and
//   the first 3 frames of each clip are dropped (upstream's frames_to_trim), so T latent frames
//   give 1 + 4(T - 1) video frames.
// Latents are taken as the DiT produces them: TAEHV uses no latent mean/std (its README; the Wan
// 2.1 notebook wraps it with latents_mean 0 and latents_std 1).
using Zoetrope.Quant.Conv;

namespace Zoetrope.Engine.Decode;

/// <summary>The tiny TAEHV decoder (Wan 2.1's taew2_1 and smaller ones of its shape) on a backend, streaming.</summary>
internal sealed class TaehvDecoder : IVideoDecoder
{
    private readonly Backend _backend;
    private readonly List<IDisposable> _owned = [];
    private readonly TaehvConv _first;
    private readonly TaehvMemBlock[][] _blocks;
    private readonly TaehvConv[] _grow;
    private readonly TaehvConv _last;
    private TaehvBuffers? _buffers;
    private bool _disposed;

    private TaehvDecoder(Backend backend, TaehvWeights weights, DType dtype, int latentHeight, int latentWidth)
    {
        _backend = backend;
        Config = weights.Config;
        DType = dtype;
        LatentHeight = latentHeight;
        LatentWidth = latentWidth;
        try
        {
            _first = Own(TaehvConv.Plain(backend, dtype, weights["decoder.1.weight"], weights["decoder.1.bias"], "taehv.1"));
            _blocks = new TaehvMemBlock[3][];
            _grow = new TaehvConv[3];
            for (int s = 0; s < 3; s++)
            {
                _blocks[s] = new TaehvMemBlock[TaehvConfig.MemBlocksPerStage];
                for (int k = 0; k < TaehvConfig.MemBlocksPerStage; k++)
                {
                    _blocks[s][k] = Own(TaehvMemBlock.Of(backend, dtype, weights, TaehvWeights.StageBase(s) + k, Config.Features[s], latentHeight << s, latentWidth << s));
                }
                _grow[s] = Own(TaehvConv.GrowConv(backend, dtype, weights[TaehvWeights.TGrowKey(s)], weights[TaehvWeights.StageConvKey(s)], TaehvConfig.TimeStrides[s],
                    FormattableString.Invariant($"taehv.{TaehvWeights.StageBase(s) + 5}")));
            }
            _last = Own(TaehvConv.Plain(backend, dtype, weights["decoder.22.weight"], weights["decoder.22.bias"], "taehv.22"));
        }
        catch
        {
            DisposeOwned();
            throw;
        }
    }

    /// <summary>The decoder's widths.</summary>
    public TaehvConfig Config { get; }

    /// <summary>The dtype of its weights and activations (f32, f16 or bf16; biases are f32).</summary>
    public DType DType { get; }

    /// <inheritdoc />
    public string Name => "tiny";

    /// <inheritdoc />
    public int LatentChannels => Config.LatentChannels;

    /// <inheritdoc />
    public int LatentHeight { get; }

    /// <inheritdoc />
    public int LatentWidth { get; }

    /// <inheritdoc />
    public int SpatialScale => TaehvConfig.SpatialScale;

    /// <inheritdoc />
    public int TemporalScale => TaehvConfig.TemporalScale;

    /// <inheritdoc />
    public long FramesSeen { get; private set; }

    /// <summary>
    /// The decoder for <paramref name="dit"/>'s latents: <paramref name="weightsPath"/> (a published
    /// TAEHV checkpoint, safetensors or .pth, e.g. taew2_1) at <see cref="TaehvConfig.Published"/>'s
    /// widths for the Wan-sized DiTs, or null for seeded random weights; the tiny DiTs get
    /// <see cref="TaehvConfig.Small"/> (see <see cref="TaehvConfig.For"/>).
    /// </summary>
    /// <exception cref="ZoetropeWeightsException">The checkpoint does not fit: every missing, unexpected and mis-shaped key named.</exception>
    /// <exception cref="ArgumentException">An unsupported dtype or latent size.</exception>
    public static IVideoDecoder Open(Backend backend, DiTConfig dit, DType dtype, string? weightsPath, int seed)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(dit);
        CheckDType(dtype);
        var config = TaehvConfig.For(dit);
        using var weights = weightsPath is null ? TaehvWeights.Random(config, unchecked((ulong)seed)) : TaehvWeights.Load(weightsPath, config);
        return Create(backend, weights, dtype, dit.LatentHeight, dit.LatentWidth);
    }

    /// <summary>A decoder of <paramref name="weights"/> (copied to <paramref name="backend"/>; the caller keeps them) for latents of the given size.</summary>
    /// <exception cref="ArgumentException">An unsupported dtype or a non-positive latent size.</exception>
    public static TaehvDecoder Create(Backend backend, TaehvWeights weights, DType dtype, int latentHeight, int latentWidth)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(weights);
        CheckDType(dtype);
        if (latentHeight < 1 || latentWidth < 1)
        {
            throw new ArgumentException($"TAEHV decoder: latent size {latentHeight}x{latentWidth} must be positive", nameof(latentHeight));
        }
        return new TaehvDecoder(backend, weights, dtype, latentHeight, latentWidth);
    }

    /// <inheritdoc />
    public VideoFrames Decode(float[] latents, int frames)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(latents);
        int c = LatentChannels, h = LatentHeight, w = LatentWidth;
        if (frames < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(frames), frames, "TAEHV decoder: frames must be at least 1");
        }
        long want = (long)frames * c * h * w;
        if (latents.LongLength != want)
        {
            throw new ArgumentException(
                $"TAEHV decoder: latents hold {latents.LongLength} floats; expected frames x C x H x W = {frames} x {c} x {h} x {w} = {want}", nameof(latents));
        }
        int bad = Array.FindIndex(latents, v => !float.IsFinite(v));
        if (bad >= 0)
        {
            throw new ArgumentException($"TAEHV decoder: latents[{bad}] is {latents[bad]}; latents must be finite", nameof(latents));
        }

        var b = BuffersFor(frames);
        // Clamp (3 tanh(x/3)) and [C, F, H, W] -> [F, H, W, C], on the host, each value rounded
        // once from double straight into the dtype's bytes (no double array).
        var x = new byte[want * DType.Size()];
        for (int ci = 0; ci < c; ci++)
        {
            for (int f = 0; f < frames; f++)
            {
                for (int p = 0; p < h * w; p++)
                {
                    ElementConvert.Write(DType, x, (((long)f * h * w) + p) * c + ci, 3 * Math.Tanh(latents[((((long)ci * frames) + f) * h * w) + p] / 3));
                }
            }
        }
        b.Input.CopyFrom(x);

        Conv3d.Run(b.Input, _first.Weight, _first.Bias, null, b.Stages[0].In[0].Slice(0, 1, frames), act: ConvActivation.Relu);
        for (int s = 0; s < 3; s++)
        {
            var st = b.Stages[s];
            for (int k = 0; k < TaehvConfig.MemBlocksPerStage; k++)
            {
                var into = k + 1 < TaehvConfig.MemBlocksPerStage ? st.In[k + 1].Slice(0, 1, st.Frames) : st.Out;
                _blocks[s][k].Run(st.In[k], st.Hidden1, st.Hidden2, into);
            }
            // The next stage's MemBlock input, or the last conv's (after upstream's ReLU at index 21).
            var next = s < 2 ? b.Stages[s + 1].In[0].Slice(0, 1, b.Stages[s + 1].Frames) : b.Last;
            Conv3d.Run(st.Out, _grow[s].Weight, null, null, next, upsample: 2, timeShuffle: TaehvConfig.TimeStrides[s],
                act: s < 2 ? ConvActivation.None : ConvActivation.Relu);
        }
        Conv3d.Run(b.Last, _last.Weight, _last.Bias, null, b.Rgb, act: ConvActivation.None);

        // Upstream drops the clip's first frames_to_trim decoded frames (startup frames, for causal alignment with the full VAE).
        long produced = FramesSeen * TemporalScale;
        int skip = (int)Math.Clamp(TaehvConfig.FramesToTrim - produced, 0, TaehvConfig.FramesToTrim);
        int outFrames = (frames * TemporalScale) - skip;
        int ho = h * SpatialScale, wo = w * SpatialScale;
        using var kept = b.Rgb.Slice(0, skip, outFrames);
        // Read back as floats in place (every f32/f16/bf16 value is one): no double copy of the frames.
        var result = kept.ToFloats();
        for (long i = 0; i < result.LongLength; i++)
        {
            result[i] = Math.Clamp(result[i], 0f, 1f);
        }
        FramesSeen += frames;
        return new VideoFrames(outFrames, ho, wo, result);
    }

    /// <inheritdoc />
    public void Reset()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var block in _blocks.SelectMany(s => s))
        {
            block.Past.FillBytes(0);
        }
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
        _buffers?.Dispose();
        DisposeOwned();
    }

    // Checked before any weight is drawn or read.
    private static void CheckDType(DType dtype)
    {
        if (dtype is not (DType.F32 or DType.F16 or DType.BF16))
        {
            throw new ArgumentException($"TAEHV decoder: dtype {dtype.Name()} is not f32, f16 or bf16", nameof(dtype));
        }
    }

    private T Own<T>(T item)
        where T : IDisposable
    {
        _owned.Add(item);
        return item;
    }

    private void DisposeOwned()
    {
        foreach (var d in _owned)
        {
            d.Dispose();
        }
        _owned.Clear();
    }

    private TaehvBuffers BuffersFor(int frames)
    {
        if (_buffers?.LatentFrames == frames)
        {
            return _buffers;
        }
        _buffers?.Dispose();
        _buffers = null;
        _buffers = new TaehvBuffers(_backend, DType, Config, frames, LatentHeight, LatentWidth);
        return _buffers;
    }
}
