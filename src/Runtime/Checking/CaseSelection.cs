using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Checking;

/// <summary>
/// Which cases of a table the harness runs on which backend:
/// <list type="bullet">
/// <item>the emulated backends (<see cref="BackendKinds.IsEmulated"/>: a PTX interpreter at tens of
/// millions of lane instructions a second) run the <see cref="CaseUse.Emulator"/> cases only: sized
/// for it and picked at the kernels' tile edges. The Check cases were sized for ILGPU's CPU
/// accelerator and the GPUs; all of them on the interpreter would not fit CI's time;</item>
/// <item>the GPU backends run the <see cref="CaseUse.Check"/> and the <see cref="CaseUse.Emulator"/>
/// cases: both cost nothing there, and a GPU then runs what the emulator ran;</item>
/// <item>the CPU backends run the <see cref="CaseUse.Check"/> cases, which include the Emulator
/// cases their table also marks Check: ILGPU's CPU accelerator is slow (every lane and barrier
/// emulated) and its time is CI's, so each table says which Emulator cases are cheap enough.</item>
/// </list>
/// Asking for the benchmark cases adds every case on every backend. The per-backend caps
/// (<see cref="BackendCaps"/>) apply on top.
/// </summary>
internal static class CaseSelection
{
    /// <summary>True when a case of use <paramref name="use"/> is run on <paramref name="kind"/>.</summary>
    public static bool Runs(CaseUse use, BackendKind kind, bool includeBenchCases = false)
    {
        if (includeBenchCases)
        {
            return true;
        }
        if (kind.IsEmulated())
        {
            return use.HasFlag(CaseUse.Emulator);
        }
        return use.HasFlag(CaseUse.Check) || (kind.NeedsGpu() && use.HasFlag(CaseUse.Emulator));
    }
}
