// WanVaeConv: one of the decoder's convolutions on the device, weights permuted once from
// PyTorch's [Cout, Cin, (Kt,) Kh, Kw] to conv3d's [Cout, Kt, Kh, Kw, Cin], the bias in f32. A
// causal one (Kt > 1, vae.py's CausalConv3d) keeps the last Kt - 1 frames of its input: the
// caller writes the chunk's input after them in a window (Window, then Fresh), and Run convolves
// the window with no time padding and keeps its last Kt - 1 frames for the next chunk. The cache
// starts as zeros, which is exactly the zero padding of the first chunk, so any split of a clip
// into chunks gives the same output as the whole clip at once.
using Zoetrope.Quant.Conv;

namespace Zoetrope.Engine.Decode;

/// <summary>A device convolution with its streaming cache.</summary>
internal sealed class WanVaeConv : IDisposable
{
    private readonly Tensor _weight;
    private readonly Tensor _bias;
    private readonly Tensor? _cache;

    /// <summary>From a PyTorch weight [Cout, Cin, Kt, Kh, Kw] or [Cout, Cin, Kh, Kw] and bias [Cout] (host).</summary>
    public WanVaeConv(Backend backend, DType dtype, Tensor weight, Tensor bias, int height, int width)
        : this(backend, dtype, weight.ToDoubles(), bias.ToDoubles(), Extents(weight), height, width, weight.Name)
    {
    }

    /// <summary>From PyTorch-ordered weight values with extents (Cout, Cin, Kt, Kh, Kw).</summary>
    public WanVaeConv(Backend backend, DType dtype, double[] weight, double[] bias, (int Cout, int Cin, int Kt, int Kh, int Kw) k, int height, int width, string name)
    {
        (Cout, Cin, Kt) = (k.Cout, k.Cin, k.Kt);
        (Height, Width) = (height, width);
        var permuted = new double[weight.Length];
        int taps = k.Kt * k.Kh * k.Kw;
        for (int co = 0; co < k.Cout; co++)
        {
            for (int ci = 0; ci < k.Cin; ci++)
            {
                for (int tap = 0; tap < taps; tap++)
                {
                    permuted[(((long)co * taps) + tap) * k.Cin + ci] = weight[(((long)co * k.Cin) + ci) * taps + tap];
                }
            }
        }
        using (var host = Tensor.FromDoubles(permuted, dtype, new Shape(k.Cout, k.Kt, k.Kh, k.Kw, k.Cin), name))
        {
            _weight = host.To(backend);
        }
        using (var host = Tensor.FromDoubles(bias, DType.F32, new Shape(k.Cout), name + " bias"))
        {
            _bias = host.To(backend);
        }
        if (Kt > 1)
        {
            _cache = backend.Allocate(dtype, new Shape(Kt - 1, height, width, Cin), name + " cache");
            _cache.FillBytes(0);
        }
    }

    /// <summary>Output channels (before any time shuffle).</summary>
    public int Cout { get; }

    /// <summary>Input channels.</summary>
    public int Cin { get; }

    /// <summary>Kernel extent in time.</summary>
    public int Kt { get; }

    /// <summary>Input rows.</summary>
    public int Height { get; }

    /// <summary>Input columns.</summary>
    public int Width { get; }

    /// <summary>The window for <paramref name="frames"/> new input frames on slot "win", the cached frames already in front.</summary>
    public Tensor Window(WanVaeScratch scratch, int frames)
    {
        var window = scratch.Take("win", new Shape(Kt - 1 + frames, Height, Width, Cin));
        if (_cache is not null)
        {
            window.Slice(0, 0, Kt - 1).CopyFrom(_cache);
        }
        return window;
    }

    /// <summary>Where the chunk's input goes in <paramref name="window"/> (after the cached frames).</summary>
    public Tensor Fresh(Tensor window) => window.Slice(0, Kt - 1, window.Shape[0] - (Kt - 1));

    /// <summary>Convolves a filled window (no time padding) into <paramref name="y"/> and keeps its last Kt - 1 frames.</summary>
    public void Run(Tensor window, Tensor? residual, Tensor y, int timeShuffle = 1, int upsample = 1)
    {
        if (_cache is not null)
        {
            _cache.CopyFrom(window.Slice(0, window.Shape[0] - (Kt - 1), Kt - 1));
        }
        Conv3d.Run(window, _weight, _bias, residual, y, timePad: 0, upsample: upsample, timeShuffle: timeShuffle);
    }

    /// <summary>A norm's gamma ([C, 1, 1, 1] or [C, 1, 1] on the host) as a flat [C] device vector in <paramref name="dtype"/>.</summary>
    public static Tensor Vector(Backend backend, DType dtype, Tensor host)
    {
        using var flat = Tensor.FromDoubles(host.ToDoubles(), dtype, new Shape(host.Shape[0]), host.Name);
        return flat.To(backend);
    }

    /// <summary>Zeroes the cache: the next window starts a clip.</summary>
    public void Reset() => _cache?.FillBytes(0);

    /// <inheritdoc />
    public void Dispose()
    {
        _weight.Dispose();
        _bias.Dispose();
        _cache?.Dispose();
    }

    private static (int, int, int, int, int) Extents(Tensor w) => w.Rank == 5
        ? ((int)w.Shape[0], (int)w.Shape[1], (int)w.Shape[2], (int)w.Shape[3], (int)w.Shape[4])
        : ((int)w.Shape[0], (int)w.Shape[1], 1, (int)w.Shape[2], (int)w.Shape[3]);
}
