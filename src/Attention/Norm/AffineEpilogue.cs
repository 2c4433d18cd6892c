using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// y * weight[col] + bias[col], each part optional (flags, since ILGPU views cannot be null).
/// Per-op rounding rounds y to T before the weight (WanRMSNorm: <c>_norm(x.float()).type_as(x) * weight</c>).
/// </summary>
internal readonly struct AffineEpilogue<T, TCodec>(ArrayView<T> weight, ArrayView<T> bias, bool hasWeight, bool hasBias, bool perOp = false) : IRowEpilogue
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _weight = weight;
    private readonly ArrayView<T> _bias = bias;
    private readonly int _hasWeight = hasWeight ? 1 : 0;
    private readonly int _hasBias = hasBias ? 1 : 0;
    private readonly int _perOp = perOp ? 1 : 0;

    /// <inheritdoc />
    public float Apply(long row, int col, float normalized)
    {
        TCodec codec = default;
        float n = _perOp != 0 ? NormRounding.Round<T, TCodec>(normalized) : normalized;
        float y = _hasWeight != 0 ? n * codec.Load(_weight[col]) : n;
        return _hasBias != 0 ? y + codec.Load(_bias[col]) : y;
    }
}
