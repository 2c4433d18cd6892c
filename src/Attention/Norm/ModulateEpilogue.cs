namespace Zoetrope.Attention.Norm;

/// <summary>adaLN: normalized * (1 + scale) + shift, with shift = vector 3c and scale = vector 3c+1 of chunk c.</summary>
public readonly struct ModulateEpilogue(FrameModulation modulation, int chunk) : IRowEpilogue
{
    private readonly FrameModulation _mod = modulation;
    private readonly int _shift = 3 * chunk;

    /// <inheritdoc />
    public float Apply(long row, int col, float normalized) =>
        (normalized * (1f + _mod.Get(row, col, _shift + 1))) + _mod.Get(row, col, _shift);
}
