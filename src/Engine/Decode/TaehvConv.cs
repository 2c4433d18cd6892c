// TaehvConv: one of TAEHV's convolutions on the device, in conv3d's layout, made once from the
// checkpoint's PyTorch layout ([Cout, Cin, Kh, Kw] -> [Cout, Kt, Kh, Kw, Cin], in double, then
// rounded to the decoder's dtype; biases stay f32 as conv3d takes them).
namespace Zoetrope.Engine.Decode;

/// <summary>A device conv3d weight [Cout, Kt, Kh, Kw, Cin] and its optional f32 bias [Cout].</summary>
internal sealed class TaehvConv : IDisposable
{
    private TaehvConv(Tensor weight, Tensor? bias)
    {
        Weight = weight;
        Bias = bias;
    }

    public Tensor Weight { get; }

    public Tensor? Bias { get; }

    /// <summary>A 2-D conv (Kt = 1) from a PyTorch weight [Cout, Cin, Kh, Kw].</summary>
    public static TaehvConv Plain(Backend backend, DType dtype, Tensor weight, Tensor? bias, string name)
    {
        var s = weight.Shape;
        return Of(backend, dtype, Taps(weight.ToDoubles(), s, [0]), new Shape(s[0], 1, s[2], s[3], s[1]), bias, name);
    }

    /// <summary>
    /// MemBlock's first conv, conv(cat([x, past])) with W [C, 2C, Kh, Kw], as conv3d with Kt = 2 over
    /// [past, x]: time tap 0 (the earlier frame) takes W[:, C:], tap 1 (the frame itself) W[:, :C].
    /// </summary>
    public static TaehvConv MemoryConv(Backend backend, DType dtype, Tensor weight, Tensor? bias, string name)
    {
        var s = weight.Shape;
        int c = (int)(s[1] / 2);
        return Of(backend, dtype, Taps(weight.ToDoubles(), s, [c, 0]), new Shape(s[0], 2, s[2], s[3], c), bias, name);
    }

    /// <summary>
    /// TGrow's G [C*S, C, 1, 1] composed with the 3x3 conv W [N, C, 3, 3] after it (both without
    /// bias): conv3d weight [S*N, 1, 3, 3, C] whose output channel j*N + o is sum_m W[o, m] G[j*C + m],
    /// so with timeShuffle S channel group j is frame t*S + j, the order of TGrow's reshape. The
    /// nearest upsampling between them commutes with the 1x1 G, so conv3d's upsample = 2 applies it.
    /// </summary>
    public static TaehvConv GrowConv(Backend backend, DType dtype, Tensor grow, Tensor conv, int stride, string name)
    {
        var g = grow.ToDoubles();
        var w = conv.ToDoubles();
        int n = (int)conv.Shape[0], c = (int)conv.Shape[1], taps = (int)(conv.Shape[2] * conv.Shape[3]);
        var r = new double[(long)stride * n * taps * c];
        for (int j = 0; j < stride; j++)
        {
            for (int o = 0; o < n; o++)
            {
                for (int tap = 0; tap < taps; tap++)
                {
                    long dst = ((((long)j * n) + o) * taps + tap) * c;
                    for (int m = 0; m < c; m++)
                    {
                        double wv = w[((((long)o * c) + m) * taps) + tap];
                        long row = (((long)j * c) + m) * c;
                        for (int ci = 0; ci < c; ci++)
                        {
                            r[dst + ci] += wv * g[row + ci];
                        }
                    }
                }
            }
        }
        return Of(backend, dtype, r, new Shape(stride * n, 1, conv.Shape[2], conv.Shape[3], c), null, name);
    }

    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }

    /// <summary>
    /// [Cout, Cin, Kh, Kw] -> [Cout, taps, Kh, Kw, C] where time tap t takes input channels
    /// [from[t], from[t] + C) and C = Cin / taps.
    /// </summary>
    private static double[] Taps(double[] w, Shape shape, int[] from)
    {
        int cout = (int)shape[0], cin = (int)shape[1], kh = (int)shape[2], kw = (int)shape[3], c = cin / from.Length;
        var r = new double[(long)cout * from.Length * kh * kw * c];
        for (int o = 0; o < cout; o++)
        {
            for (int t = 0; t < from.Length; t++)
            {
                for (int y = 0; y < kh; y++)
                {
                    for (int x = 0; x < kw; x++)
                    {
                        long dst = ((((((long)o * from.Length) + t) * kh) + y) * kw + x) * c;
                        for (int i = 0; i < c; i++)
                        {
                            r[dst + i] = w[((((long)o * cin) + from[t] + i) * kh + y) * kw + x];
                        }
                    }
                }
            }
        }
        return r;
    }

    private static TaehvConv Of(Backend backend, DType dtype, double[] values, Shape shape, Tensor? bias, string name)
    {
        using var host = Tensor.FromDoubles(values, dtype, shape, name + ".weight");
        var weight = host.To(backend);
        try
        {
            return new TaehvConv(weight, bias?.To(backend, DType.F32, name + ".bias"));
        }
        catch
        {
            weight.Dispose();
            throw;
        }
    }
}
