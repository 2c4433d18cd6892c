using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Conv;

/// <summary>
/// conv3d's epilogue in the ILGPU kernel: acc + bias[co] + residual[y index], then the activation,
/// in fp32 (the caller rounds once to y's type). The same order as kernels/conv/conv3d.cu's.
/// </summary>
internal readonly struct ConvEpilogue(ArrayView<float> bias, int hasBias, int hasResidual, int act)
{
    private readonly ArrayView<float> _bias = bias;
    private readonly int _hasBias = hasBias;
    private readonly int _hasResidual = hasResidual;
    private readonly int _act = act;

    /// <summary>The output value for accumulator <paramref name="acc"/> of channel <paramref name="co"/> at y index <paramref name="yi"/>.</summary>
    public float Apply<T, TCodec>(ArrayView<T> residual, int co, long yi, float acc)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        float v = acc;
        if (_hasBias != 0)
        {
            v += _bias[co];
        }
        if (_hasResidual != 0)
        {
            v += default(TCodec).Load(residual[yi]);
        }
        if (_act == (int)ConvActivation.Relu)
        {
            return v > 0f ? v : 0f;
        }
        return _act == (int)ConvActivation.Silu ? v / (1f + XMath.Exp(-v)) : v;
    }
}
