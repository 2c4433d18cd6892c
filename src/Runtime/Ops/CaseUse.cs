namespace Zoetrope.Runtime.Ops;

/// <summary>What a case in a case table is for.</summary>
[Flags]
public enum CaseUse
{
    /// <summary>Run by the check harness (small shapes, within the per-backend caps).</summary>
    Check = 1,
    /// <summary>Run by the benchmarks (model-sized shapes).</summary>
    Bench = 2,
    /// <summary>Both.</summary>
    Both = Check | Bench,
}
