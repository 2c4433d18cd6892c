namespace Zoetrope.Runtime.Ops;

/// <summary>One row of a case table.</summary>
/// <param name="Params">The op's parameters for this case.</param>
/// <param name="Use">Checked, benchmarked, or both.</param>
public sealed record OpCase<TParams>(TParams Params, CaseUse Use = CaseUse.Check)
    where TParams : struct, IOpParams;
