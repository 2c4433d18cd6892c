// The `rounding` attribute of adaln_modulate, gated_residual and rms_norm (and of the fused
// gated_residual_adaln, which is those two back to back), and the rounding helpers their
// references and kernels share.
//
// rounding=fused: fp32 math, one rounding at the output. rounding=per-op: a rounding to the
// op's dtype T at every boundary between the eager PyTorch operations Self-Forcing and LongLive
// run in bf16 (README, "Rounding points"): each such operation works in
// fp32 and writes T, so R(v) = T(fp32(v)); statistics (mean, rstd) stay fp32 inside one op.
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>The norm ops' <c>rounding</c> attribute and the rounding to T that per-op applies.</summary>
internal static class NormRounding
{
    /// <summary>rounding=fused|per-op, declared once for every norm op that takes it.</summary>
    public static OpAttr<string> Attr { get; } = RoundingAttr.Declare(
        "fused: fp32 math, one rounding; per-op: round to the dtype at each eager PyTorch op boundary (Self-Forcing/LongLive in bf16)");

    /// <summary>The attribute's value in a binding.</summary>
    public static Rounding Get(OpBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        return RoundingAttr.Parse(binding.Get(Attr));
    }

    /// <summary>The attribute's text for <paramref name="rounding"/> (the inverse of <see cref="Get"/>).</summary>
    public static string Name(Rounding rounding) => RoundingAttr.Name(rounding);

    /// <summary>What a label appends: nothing for the default, " rounding=per-op" otherwise.</summary>
    public static string Label(Rounding rounding) => rounding == Rounding.PerOp ? " rounding=per-op" : string.Empty;

    /// <summary>The C ABI's int for <paramref name="rounding"/> (zt_norm.h: 0 fused, 1 per-op).</summary>
    public static int Abi(Rounding rounding) => rounding == Rounding.PerOp ? 1 : 0;

    /// <summary>
    /// The oracle's R: <paramref name="value"/> (an exact or double result) rounded as an fp32
    /// operation writing <paramref name="dtype"/> rounds it: to fp32, then to the dtype.
    /// </summary>
    public static double Round(DType dtype, double value) => dtype switch
    {
        DType.F32 => (float)value,
        DType.BF16 => BFloat16.FromSingle((float)value).ToSingle(),
        DType.F16 => MiniFloat.F16.Decode(MiniFloat.F16.Encode((float)value, saturate: false)),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "norm ops take f32, f16 or bf16"),
    };

    /// <summary>The oracle's rounding at an op boundary: R under per-op, nothing under fused.</summary>
    public static double At(Rounding rounding, DType dtype, double value) => rounding == Rounding.PerOp ? Round(dtype, value) : value;

    /// <summary>The kernels' R: an fp32 value rounded to T and back (identity for f32).</summary>
    public static float Round<T, TCodec>(float value)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        return codec.Load(codec.Store(value));
    }

    /// <summary>x + gate * y in a kernel: fused, or per-op PyTorch's <c>x + y * e[2]</c>: R(x + R(y * R(gate))) (the caller stores, i.e. rounds, the result).</summary>
    public static float GatedSum<T, TCodec>(float x, float y, float gate, int perOp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        perOp == 0 ? x + (gate * y) : x + Round<T, TCodec>(y * Round<T, TCodec>(gate));

    /// <summary>The oracle's x + gate * y: exact, or with per-op's roundings of the gate, the product and the sum.</summary>
    public static double GatedSum(Rounding rounding, DType dtype, double x, double y, double gate) =>
        At(rounding, dtype, x + At(rounding, dtype, y * At(rounding, dtype, gate)));
}
