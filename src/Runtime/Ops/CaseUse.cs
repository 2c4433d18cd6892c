namespace Zoetrope.Runtime.Ops;

/// <summary>
/// What a case in a case table is for. Which backend runs which cases is
/// <see cref="Checking.CaseSelection"/>'s rule: the emulated backends run the
/// <see cref="Emulator"/> cases, the GPU backends the <see cref="Check"/> and Emulator ones, the CPU
/// backends the Check ones, and <see cref="Bench"/> cases run only when asked for.
/// </summary>
[Flags]
public enum CaseUse
{
    /// <summary>Run by the check harness (small shapes, within the per-backend caps).</summary>
    Check = 1,
    /// <summary>Run by the benchmarks (model-sized shapes).</summary>
    Bench = 2,
    /// <summary>Both.</summary>
    Both = Check | Bench,
    /// <summary>
    /// Sized for the emulated CUDA device (a PTX interpreter: tiny shapes) and picked from the
    /// kernels' tile policies: extents of a tile plus or minus one, fully masked rows, GQA, both
    /// head layouts. The emulated backends run only these, the GPU backends run them too, and
    /// the CPU backends when the case is also marked <see cref="Check"/> (cheap there as well).
    /// </summary>
    Emulator = 4,
    /// <summary>
    /// Checks the op on masked inputs: the harness puts -inf where the op's contract allows it
    /// (<see cref="InitSpec.Masking"/>, for example masked logits) and compares NaN-aware. Not a
    /// purpose of its own: combine it with <see cref="Check"/> or <see cref="Emulator"/>.
    /// </summary>
    Masked = 8,
}
