// WanLayer: one transformer block's parameters on the device, and its forward (Wan's order,
// ../shared/REFERENCE.md):
//   h = LN(x)*(1+scale_sa)+shift_sa                       adaln_modulate, chunk 0
//   q, k, v = h Wq, h Wk, h Wv                             linear (bf16 or W8A8)
//   o = SelfAttention(rope(RMSNorm(q)), rope(RMSNorm(k)), v)  ISelfAttention: full sequence or cache;
//                                                          the norm + RoPE (+ Sage INT8) run there, fused,
//                                                          so K lands in the cache in one op
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
internal sealed class WanLayer : IDisposable
{
    private readonly QuantizedLinear _q, _k, _v, _o, _cq, _ck, _cv, _co, _ffn0, _ffn2;
    private readonly Tensor _normQ, _normK, _crossNormQ, _crossNormK, _norm3W, _norm3B, _modulation;
    private Tensor? _projLZero;

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
        if (w.TryGet(WanWeightNames.ProjL(index), out var projL))
        {
            ProjL = projL.To(backend, DType.F32);
            ProjLBias = w.TryGet(WanWeightNames.ProjLBias(index), out var bias) ? bias.To(backend, DType.F32) : null;
        }
        _backend = backend;
        _headDim = w.Config.HeadDim;
        _rounding = options.Rounding;
    }

    private readonly Backend _backend;
    private readonly int _headDim;
    private readonly Rounding _rounding;

    /// <summary>The block's index.</summary>
    public int Index { get; }

    /// <summary>Self-attention's RMSNorm weight for q (over the full dim).</summary>
    public Tensor NormQ => _normQ;

    /// <summary>Self-attention's RMSNorm weight for k (over the full dim).</summary>
    public Tensor NormK => _normK;

    /// <summary>SLA's trained linear-branch projection W [D, D] f32 (out, in), or null when the checkpoint has none.</summary>
    public Tensor? ProjL { get; }

    /// <summary>SLA's projection bias [D] f32, or null.</summary>
    public Tensor? ProjLBias { get; }

    /// <summary><see cref="ProjL"/>, or zeros [D, D] (made once) when the checkpoint has none: SLA's linear branch then adds nothing.</summary>
    public Tensor ProjLOrZero => ProjL ?? (_projLZero ??= Zeros(_backend, _headDim));

    /// <summary>The text K and V of this block's cross-attention for <paramref name="text"/> [L, dim] (embedded), each [1, L, H, D].</summary>
    public void TextKv(Tensor text, Tensor kOut, Tensor vOut, Tensor scratch)
    {
        long rows = text.Shape[0];
        long dim = text.Shape[1];
        _ck.Forward(text, scratch);
        RmsNorm.Run(scratch, _crossNormK, kOut.Reshape(new Shape(rows, dim)), DiTConfig.Eps, _rounding);
        _cv.Forward(text, vOut.Reshape(new Shape(rows, dim)));
    }

    /// <summary>Runs the block on s.X (the result is left in s.X).</summary>
    public void Forward(ForwardScratch s, TextContext text, ISelfAttention attention)
    {
        // Self-attention.
        AdaLnModulate.Run(s.X, s.E0, _modulation, s.H, 0, DiTConfig.Eps, _rounding);
        _q.Forward(s.HRows, s.Q);
        _k.Forward(s.HRows, s.K);
        _v.Forward(s.HRows, s.VRows);
        attention.Attend(this, s);
        _o.Forward(s.ORows, s.Y);
        GatedResidual.Run(s.X, s.YTokens, s.E0, _modulation, s.XNext, 0, _rounding);
        s.Swap();

        // Cross-attention: affine LayerNorm, no modulation, no RoPE, keys from the prompt cache.
        LayerNorm.Run(s.XRows, _norm3W, _norm3B, s.HRows, DiTConfig.Eps);
        _cq.Forward(s.HRows, s.Q);
        RmsNorm.Run(s.Q, _crossNormQ, s.QNormRows, DiTConfig.Eps, _rounding);
        var (tk, tv) = text.Layer(Index);
        Zoetrope.Attention.Flash.Attention.Run(s.QNorm, tk, tv, s.O, HeadLayout.Nhd, AttentionMask.None);
        _co.Forward(s.ORows, s.Y);
        Axpby.Run(1f, s.X, 1f, s.YTokens, s.XNext);
        s.Swap();

        // FFN.
        AdaLnModulate.Run(s.X, s.E0, _modulation, s.H, 1, DiTConfig.Eps, _rounding);
        _ffn0.Forward(s.HRows, s.Ffn, gelu: true, rounding: _rounding);
        _ffn2.Forward(s.Ffn, s.Y);
        GatedResidual.Run(s.X, s.YTokens, s.E0, _modulation, s.XNext, 1, _rounding);
        s.Swap();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var l in new[] { _q, _k, _v, _o, _cq, _ck, _cv, _co, _ffn0, _ffn2 })
        {
            l.Dispose();
        }
        foreach (var t in new[] { _normQ, _normK, _crossNormQ, _crossNormK, _norm3W, _norm3B, _modulation, ProjL, ProjLBias, _projLZero })
        {
            t?.Dispose();
        }
    }

    private static Tensor Zeros(Backend backend, int d)
    {
        var t = backend.Allocate(DType.F32, new Shape(d, d), "proj_l_zero");
        t.WriteDoubles(new double[(long)d * d]);
        return t;
    }
}
