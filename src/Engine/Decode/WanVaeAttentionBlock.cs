// WanVaeAttentionBlock: vae.py's AttentionBlock, per frame: RMS_norm over channels, to_qkv (a
// 1x1 conv to 3C), one head of softmax attention over the frame's H*W pixels with head dim C,
// proj (1x1), plus the input. Built from linear and softmax rather than the attention op, whose
// kernels serve head dims 64 and 128 only (this head is C wide: 384 published, 32 tiny).
//   q = xn Wq^T + bq and k likewise (linear; Wq, bq pre-scaled by SDPA's 1/sqrt(C)),
//   S = q k^T (linear with k as the weight), P = softmax(S),
//   V^T = Wv xn^T (linear with Wv as x and xn as the weight: V transposed, no copy),
//   O = P V (linear with V^T as the weight), out = proj(O) + x (a 1x1 conv3d, x as residual).
// V's bias is folded into proj's: softmax rows sum to 1, so P (V + 1 bv^T) = P V + 1 bv^T, and
// proj(O + bv) = Wp O + (Wp bv + bp).
using Zoetrope.Attention;
using Zoetrope.Attention.Norm;
using Zoetrope.Quant.Gemm;

namespace Zoetrope.Engine.Decode;

/// <summary>AttentionBlock on the device.</summary>
internal sealed class WanVaeAttentionBlock : IWanVaeBlock
{
    private readonly int _c;
    private readonly Tensor _gamma;
    private readonly Tensor _wq, _bq, _wk, _bk, _wv;
    private readonly WanVaeConv _proj;

    public WanVaeAttentionBlock(Backend backend, DType dtype, WanVaeWeights w, WanVaeBlockSpec spec, int height, int width)
    {
        string p = spec.Prefix;
        int c = _c = spec.InDim;
        _gamma = WanVaeConv.Vector(backend, dtype, w[$"{p}.norm.gamma"]);
        double[] qkv = w[$"{p}.to_qkv.weight"].ToDoubles(), qkvBias = w[$"{p}.to_qkv.bias"].ToDoubles();
        double scale = 1 / Math.Sqrt(c);
        Tensor Part(double[] values, int part, long length, double factor, DType type, Shape shape)
        {
            var slice = values.AsSpan((int)(part * length), (int)length).ToArray().Select(v => v * factor).ToArray();
            using var host = Tensor.FromDoubles(slice, type, shape, $"{p}.to_qkv part {part}");
            return host.To(backend);
        }
        long cc = (long)c * c;
        _wq = Part(qkv, 0, cc, scale, dtype, new Shape(c, c));
        _bq = Part(qkvBias, 0, c, scale, DType.F32, new Shape(c));
        _wk = Part(qkv, 1, cc, 1, dtype, new Shape(c, c));
        _bk = Part(qkvBias, 1, c, 1, DType.F32, new Shape(c));
        _wv = Part(qkv, 2, cc, 1, dtype, new Shape(c, c));
        double[] wp = w[$"{p}.proj.weight"].ToDoubles(), bias = w[$"{p}.proj.bias"].ToDoubles();
        for (int o = 0; o < c; o++)
        {
            for (int i = 0; i < c; i++)
            {
                bias[o] += wp[((long)o * c) + i] * qkvBias[(2 * c) + i];
            }
        }
        _proj = new WanVaeConv(backend, dtype, wp, bias, (c, c, 1, 1, 1), height, width, $"{p}.proj");
    }

    public Tensor Forward(WanVaeScratch scratch, Tensor x, string outSlot)
    {
        int frames = (int)x.Shape[0];
        int n = (int)(x.Shape[1] * x.Shape[2]);
        var rows = new Shape((long)frames * n, _c);
        var xn = scratch.Take("xn", rows);
        ChannelRmsNorm.Run(x, _gamma, null, xn.Reshape(x.Shape), silu: false);
        var q = scratch.Take("q", rows);
        var k = scratch.Take("k", rows);
        Linear.Run(xn, _wq, _bq, q);
        Linear.Run(xn, _wk, _bk, k);
        var s = scratch.Take("s", new Shape(n, n));
        var prob = scratch.Take("p", new Shape(n, n));
        var vt = scratch.Take("vt", new Shape(_c, n));
        var o = scratch.Take("o", x.Shape);
        var oRows = o.Reshape(rows);
        for (int f = 0; f < frames; f++)
        {
            Linear.Run(q.Slice(0, (long)f * n, n), k.Slice(0, (long)f * n, n), null, s);
            Softmax.Run(s, prob);
            Linear.Run(_wv, xn.Slice(0, (long)f * n, n), null, vt);
            Linear.Run(prob, vt, null, oRows.Slice(0, (long)f * n, n));
        }
        var y = scratch.Take(outSlot, x.Shape);
        _proj.Run(o, x, y);
        return y;
    }

    public void Reset()
    {
        // Per frame: nothing carries over between chunks.
    }

    public void Dispose()
    {
        _gamma.Dispose();
        _wq.Dispose();
        _bq.Dispose();
        _wk.Dispose();
        _bk.Dispose();
        _wv.Dispose();
        _proj.Dispose();
    }
}
