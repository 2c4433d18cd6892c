using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// x + gate * y as the engine's input, gate = vector 3c+2 of chunk c; the output pass writes it
/// to <c>xOut</c>, the updated residual stream. Stats use the fp32 sum before it is rounded; under
/// per-op rounding (PyTorch's <c>x + y * e[2]</c> in bf16) the gate, the product and the sum are
/// each rounded to T, so the stats see the stored residual, as PyTorch's next LayerNorm does.
/// </summary>
internal readonly struct ResidualSource<T, TCodec>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> xOut, FrameModulation gate, int gateChunk, int dim, bool perOp) : IRowSource
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _x = x;
    private readonly ArrayView<T> _y = y;
    private readonly ArrayView<T> _xOut = xOut;
    private readonly FrameModulation _gate = gate;
    private readonly int _gateIndex = (3 * gateChunk) + 2;
    private readonly int _dim = dim;
    private readonly int _perOp = perOp ? 1 : 0;

    /// <inheritdoc />
    public float Load(long row, int col)
    {
        TCodec codec = default;
        long i = (row * _dim) + col;
        float sum = NormRounding.GatedSum<T, TCodec>(codec.Load(_x[i]), codec.Load(_y[i]), _gate.Get(row, col, _gateIndex), _perOp);
        return _perOp != 0 ? NormRounding.Round<T, TCodec>(sum) : sum;
    }

    /// <inheritdoc />
    public void Emit(long row, int col, float value) => _xOut[(row * _dim) + col] = default(TCodec).Store(value);
}
