// WanLayer: one transformer block's parameters on the device, and its forward (Wan's order,
// ../shared/REFERENCE.md):
//   h = LN(x)*(1+scale_sa)+shift_sa                       adaln_modulate, chunk 0
//   q, k, v = h Wq, h Wk, h Wv; q, k = RMSNorm over dim   linear (bf16 or W8A8), rms_norm
//   o = SelfAttention(rope(q), rope(k), v)                 ISelfAttention: full sequence or cache
//   x = x + gate_sa * (o Wo)                               gated_residual, chunk 0
//   x = x + CrossAttn(LN_affine(x), text K/V)              layer_norm (norm3), attention, axpby
//   x = x + gate_ff * FFN(LN(x)*(1+scale_ff)+shift_ff)     adaln_modulate, linear+GELU, gated_residual
// Every step is an op call on the model's backend; the residual stream ping-pongs between two
// buffers, so no op reads and writes the same tensor.
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Norm;
using Zoetrope.Quant;
using Zoetrope.Runtime.Elementwise;

namespace Zoetrope.Engine;

/// <summary>One DiT block on the device.</summary>
public sealed class WanLayer : IDisposable
{
    private readonly QuantizedLinear _q, _k, _v, _o, _cq, _ck, _cv, _co, _ffn0, _ffn2;
    private readonly Tensor _normQ, _normK, _crossNormQ, _crossNormK, _norm3W, _norm3B, _modulation;

    /// <summary>Uploads block <paramref name="index"/> of <paramref name="w"/> to <paramref name="backend"/>.</summary>
    public WanLayer(Backend backend, WanWeights w, int index, ModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(options);
        Index = index;
        string b = WanWeightNames.Block(index);
        var act = options.Activations;
        QuantizedLinear L(string name) => QuantizedLinear.Create(backend, w[$"{b}.{name}.weight"], w[$"{b}.{name}.bias"], options.Linear, act);
        Tensor P(string name, DType dtype) => w[$"{b}.{name}"].To(backend, dtype);
        (_q, _k, _v, _o) = (L("self_attn.q"), L("self_attn.k"), L("self_attn.v"), L("self_attn.o"));
        (_cq, _ck, _cv, _co) = (L("cross_attn.q"), L("cross_attn.k"), L("cross_attn.v"), L("cross_attn.o"));
        (_ffn0, _ffn2) = (L("ffn.0"), L("ffn.2"));
        (_normQ, _normK) = (P("self_attn.norm_q.weight", act), P("self_attn.norm_k.weight", act));
        (_crossNormQ, _crossNormK) = (P("cross_attn.norm_q.weight", act), P("cross_attn.norm_k.weight", act));
        (_norm3W, _norm3B) = (P("norm3.weight", act), P("norm3.bias", act));
        _modulation = P("modulation", DType.F32);
    }

    /// <summary>The block's index.</summary>
    public int Index { get; }

    /// <summary>The text K and V of this block's cross-attention for <paramref name="text"/> [L, dim] (embedded), each [1, L, H, D].</summary>
    public void TextKv(Tensor text, Tensor kOut, Tensor vOut, Tensor scratch)
    {
        long rows = text.Shape[0];
        long dim = text.Shape[1];
        _ck.Forward(text, scratch);
        RmsNorm.Run(scratch, _crossNormK, kOut.Reshape(new Shape(rows, dim)), DiTConfig.Eps);
        _cv.Forward(text, vOut.Reshape(new Shape(rows, dim)));
    }

    /// <summary>Runs the block on s.X (the result is left in s.X).</summary>
    public void Forward(ForwardScratch s, TextContext text, ISelfAttention attention)
    {
        // Self-attention.
        AdaLnModulate.Run(s.X, s.E0, _modulation, s.H, 0, DiTConfig.Eps);
        _q.Forward(s.HRows, s.Q);
        _k.Forward(s.HRows, s.K);
        _v.Forward(s.HRows, s.VRows);
        RmsNorm.Run(s.Q, _normQ, s.QNormRows, DiTConfig.Eps);
        RmsNorm.Run(s.K, _normK, s.KNormRows, DiTConfig.Eps);
        attention.Attend(Index, s);
        _o.Forward(s.ORows, s.Y);
        GatedResidual.Run(s.X, s.YTokens, s.E0, _modulation, s.XNext, 0);
        s.Swap();

        // Cross-attention: affine LayerNorm, no modulation, no RoPE, keys from the prompt cache.
        LayerNorm.Run(s.XRows, _norm3W, _norm3B, s.HRows, DiTConfig.Eps);
        _cq.Forward(s.HRows, s.Q);
        RmsNorm.Run(s.Q, _crossNormQ, s.QNormRows, DiTConfig.Eps);
        var (tk, tv) = text.Layer(Index);
        Zoetrope.Attention.Flash.Attention.Run(s.QNorm, tk, tv, s.O, HeadLayout.Nhd, AttentionMask.None);
        _co.Forward(s.ORows, s.Y);
        Axpby.Run(1f, s.X, 1f, s.YTokens, s.XNext);
        s.Swap();

        // FFN.
        AdaLnModulate.Run(s.X, s.E0, _modulation, s.H, 1, DiTConfig.Eps);
        _ffn0.Forward(s.HRows, s.Ffn, gelu: true);
        _ffn2.Forward(s.Ffn, s.Y);
        GatedResidual.Run(s.X, s.YTokens, s.E0, _modulation, s.XNext, 1);
        s.Swap();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in new[] { _q, _k, _v, _o, _cq, _ck, _cv, _co, _ffn0, _ffn2 })
        {
            l.Dispose();
        }
        foreach (var t in new[] { _normQ, _normK, _crossNormQ, _crossNormK, _norm3W, _norm3B, _modulation })
        {
            t.Dispose();
        }
    }
}
