namespace Zoetrope.Runtime.Ops;

/// <summary>A case-table row: the instance, what it is for, and the tolerance of each output.</summary>
/// <param name="Index">Row number in the table.</param>
/// <param name="Instance">The op with the row's parameters.</param>
/// <param name="Use">Check, bench, emulator, masked (<see cref="CaseUse"/>).</param>
/// <param name="Tolerances">The table's tolerance per output dtype.</param>
public sealed record OpCaseInstance(int Index, OpInstance Instance, CaseUse Use, ToleranceTable Tolerances)
{
    /// <summary>True when the harness feeds this case the -inf its op's contract allows (<see cref="CaseUse.Masked"/>).</summary>
    public bool Masked => Use.HasFlag(CaseUse.Masked);

    /// <summary>The parameters' label, marked " -inf" for a masked case (the same parameters may be checked both ways).</summary>
    public string Label => Masked ? Instance.Label + " -inf" : Instance.Label;
}
