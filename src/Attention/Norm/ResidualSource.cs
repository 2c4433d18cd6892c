using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// x + gate * y as the engine's input, gate = vector 3c+2 of chunk c; the output pass writes it
/// to <c>xOut</c>, the updated residual stream. Stats use the fp32 sum before it is rounded.
/// </summary>
public readonly struct ResidualSource<T, TCodec>(ArrayView<T> x, ArrayView<T> y, ArrayView<T> xOut, FrameModulation gate, int gateChunk, int dim) : IRowSource
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _x = x;
    private readonly ArrayView<T> _y = y;
    private readonly ArrayView<T> _xOut = xOut;
    private readonly FrameModulation _gate = gate;
    private readonly int _gateIndex = (3 * gateChunk) + 2;
    private readonly int _dim = dim;

    /// <inheritdoc />
    public float Load(long row, int col)
    {
        TCodec codec = default;
        long i = (row * _dim) + col;
        return codec.Load(_x[i]) + (_gate.Get(row, col, _gateIndex) * codec.Load(_y[i]));
    }

    /// <inheritdoc />
    public void Emit(long row, int col, float value) => _xOut[(row * _dim) + col] = default(TCodec).Store(value);
}
