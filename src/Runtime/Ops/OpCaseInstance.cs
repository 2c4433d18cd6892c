namespace Zoetrope.Runtime.Ops;

/// <summary>A case-table row: the instance, what it is for, and the tolerance of each output.</summary>
/// <param name="Index">Row number in the table.</param>
/// <param name="Instance">The op with the row's parameters.</param>
/// <param name="Use">Check, bench or both.</param>
/// <param name="Tolerances">The table's tolerance per output dtype.</param>
public sealed record OpCaseInstance(int Index, OpInstance Instance, CaseUse Use, ToleranceTable Tolerances);
