namespace Zoetrope.Runtime.Ops;

/// <summary>One row of a case table.</summary>
/// <param name="Params">The op's parameters for this case.</param>
/// <param name="Use">What it is for: checked, benchmarked, on the emulated device, with masked inputs (<see cref="CaseUse"/>).</param>
public sealed record OpCase<TParams>(TParams Params, CaseUse Use = CaseUse.Check)
    where TParams : struct, IOpParams;
