using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// What every linear kernel does to an fp32 accumulator of output (m, n) before the store:
/// acc * rowScale[m] * colScale[n] (when scaled), + bias[n] (when present), then GELU-tanh
/// (when asked). Fused into the GEMM: the accumulator never goes to memory. <c>rounding</c>
/// (<see cref="LinearShapes.RoundingFlags"/>, kernels/gemm's ZT_LINEAR_ROUND_* flags) adds the
/// roundings to y's type of an eager bf16 model whose ops the epilogue spans: R(acc) before the
/// bias, R(acc + bias) before the GELU.
/// </summary>
internal readonly struct LinearEpilogue(ArrayView<float> rowScale, ArrayView<float> colScale, ArrayView<float> bias, int scaled, int hasBias, int gelu, int rounding = 0)
{
    private readonly ArrayView<float> _rowScale = rowScale;
    private readonly ArrayView<float> _colScale = colScale;
    private readonly ArrayView<float> _bias = bias;
    private readonly int _scaled = scaled;
    private readonly int _hasBias = hasBias;
    private readonly int _gelu = gelu;
    private readonly int _rounding = rounding;

    /// <summary>The output value for accumulator <paramref name="acc"/> at (<paramref name="m"/>, <paramref name="n"/>), before its rounding to <typeparamref name="T"/>.</summary>
    public float Apply<T, TCodec>(long m, long n, float acc)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        float v = _scaled != 0 ? acc * _rowScale[m] * _colScale[n] : acc;
        if (_hasBias != 0)
        {
            v = ((_rounding & LinearShapes.RoundBeforeBias) != 0 ? Round<T, TCodec>(v) : v) + _bias[n];
        }
        if (_gelu == 0)
        {
            return v;
        }
        return Activations.GeluTanh((_rounding & LinearShapes.RoundBeforeGelu) != 0 ? Round<T, TCodec>(v) : v);
    }

    // v rounded to T and back (nearest even; the identity for f32).
    private static float Round<T, TCodec>(float v)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> => default(TCodec).Load(default(TCodec).Store(v));
}
