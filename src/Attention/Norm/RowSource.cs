using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>A plain [rows, dim] tensor as the engine's input.</summary>
internal readonly struct RowSource<T, TCodec>(ArrayView<T> x, int dim) : IRowSource
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _x = x;
    private readonly int _dim = dim;

    /// <inheritdoc />
    public float Load(long row, int col) => default(TCodec).Load(_x[(row * _dim) + col]);

    /// <inheritdoc />
    public void Emit(long row, int col, float value)
    {
    }
}
