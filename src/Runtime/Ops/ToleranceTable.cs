namespace Zoetrope.Runtime.Ops;

/// <summary>An op's tolerance per output dtype. Integer outputs are always compared exactly.</summary>
public sealed class ToleranceTable
{
    private readonly Dictionary<DType, Tolerance> _byType = [];

    /// <summary>
    /// Tolerances from the output format's rounding alone (about 4x the unit roundoff, relative L2):
    /// ops whose arithmetic adds error of its own state theirs.
    /// </summary>
    public static ToleranceTable Rounding { get; } = new ToleranceTable()
        .With(DType.F64, new Tolerance(1e-12))
        .With(DType.F32, new Tolerance(1e-6))
        .With(DType.F16, new Tolerance(2e-3))
        .With(DType.BF16, new Tolerance(8e-3))
        .With(DType.F8E4M3, new Tolerance(6e-2))
        .With(DType.F8E5M2, new Tolerance(1.2e-1));

    /// <summary>A copy with <paramref name="tolerance"/> for <paramref name="dtype"/>.</summary>
    public ToleranceTable With(DType dtype, Tolerance tolerance)
    {
        var copy = new ToleranceTable();
        foreach (var (k, v) in _byType)
        {
            copy._byType[k] = v;
        }
        copy._byType[dtype] = tolerance;
        return copy;
    }

    /// <summary>The tolerance for outputs of <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">The table states none for a float dtype.</exception>
    public Tolerance For(DType dtype)
    {
        if (dtype.IsInteger())
        {
            return Tolerance.Exact;
        }
        return _byType.TryGetValue(dtype, out var t)
            ? t
            : throw new ArgumentException($"the tolerance table states no tolerance for {dtype.Name()} outputs", nameof(dtype));
    }
}
