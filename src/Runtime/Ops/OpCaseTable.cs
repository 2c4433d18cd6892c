namespace Zoetrope.Runtime.Ops;

/// <summary>
/// An op's cases: shapes for the check harness (including ones that are not tile multiples and
/// N = 1) and for the benchmarks, the per-backend size caps, and the tolerance per output dtype.
/// The harness, <c>zoe check</c>, NUnit and the benchmarks all read this one table.
/// </summary>
public sealed class OpCaseTable<TParams>
    where TParams : struct, IOpParams
{
    /// <summary>The cases.</summary>
    public required IReadOnlyList<OpCase<TParams>> Cases { get; init; }

    /// <summary>The per-backend size caps.</summary>
    public BackendCaps Caps { get; init; } = BackendCaps.Default;

    /// <summary>The tolerance per output dtype.</summary>
    public required ToleranceTable Tolerances { get; init; }
}
