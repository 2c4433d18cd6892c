using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// What every linear kernel does to an fp32 accumulator of output (m, n) before the store:
/// acc * rowScale[m] * colScale[n] (when scaled), + bias[n] (when present), then GELU-tanh
/// (when asked). Fused into the GEMM: the accumulator never goes to memory.
/// </summary>
public readonly struct LinearEpilogue(ArrayView<float> rowScale, ArrayView<float> colScale, ArrayView<float> bias, int scaled, int hasBias, int gelu)
{
    private readonly ArrayView<float> _rowScale = rowScale;
    private readonly ArrayView<float> _colScale = colScale;
    private readonly ArrayView<float> _bias = bias;
    private readonly int _scaled = scaled;
    private readonly int _hasBias = hasBias;
    private readonly int _gelu = gelu;

    /// <summary>The output value for accumulator <paramref name="acc"/> at (<paramref name="m"/>, <paramref name="n"/>).</summary>
    public float Apply(long m, long n, float acc)
    {
        float v = _scaled != 0 ? acc * _rowScale[m] * _colScale[n] : acc;
        if (_hasBias != 0)
        {
            v += _bias[n];
        }
        return _gelu != 0 ? Activations.GeluTanh(v) : v;
    }
}
