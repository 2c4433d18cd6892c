using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>y * weight[col] + bias[col], each part optional (flags, since ILGPU views cannot be null).</summary>
public readonly struct AffineEpilogue<T, TCodec>(ArrayView<T> weight, ArrayView<T> bias, bool hasWeight, bool hasBias) : IRowEpilogue
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _weight = weight;
    private readonly ArrayView<T> _bias = bias;
    private readonly int _hasWeight = hasWeight ? 1 : 0;
    private readonly int _hasBias = hasBias ? 1 : 0;

    /// <inheritdoc />
    public float Apply(long row, int col, float normalized)
    {
        TCodec codec = default;
        float y = _hasWeight != 0 ? normalized * codec.Load(_weight[col]) : normalized;
        return _hasBias != 0 ? y + codec.Load(_bias[col]) : y;
    }
}
