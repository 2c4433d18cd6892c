using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// adaLN: normalized * (1 + scale) + shift, with shift = vector 3c and scale = vector 3c+1 of chunk c.
/// Per-op rounding (Self-Forcing's <c>norm1(x) * (1 + e[1]) + e[0]</c> with e = modulation + e0, all
/// bf16) rounds each vector, the norm, 1 + scale and the product to T; the engine rounds the sum.
/// </summary>
internal readonly struct ModulateEpilogue<T, TCodec>(FrameModulation modulation, int chunk, bool perOp) : IRowEpilogue
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly FrameModulation _mod = modulation;
    private readonly int _shift = 3 * chunk;
    private readonly int _perOp = perOp ? 1 : 0;

    /// <inheritdoc />
    public float Apply(long row, int col, float normalized)
    {
        float scale = _mod.Get(row, col, _shift + 1);
        float shift = _mod.Get(row, col, _shift);
        if (_perOp == 0)
        {
            return (normalized * (1f + scale)) + shift;
        }
        float s = NormRounding.Round<T, TCodec>(1f + NormRounding.Round<T, TCodec>(scale));
        float product = NormRounding.Round<T, TCodec>(NormRounding.Round<T, TCodec>(normalized) * s);
        return product + NormRounding.Round<T, TCodec>(shift);
    }
}
