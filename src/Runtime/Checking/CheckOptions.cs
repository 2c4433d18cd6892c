namespace Zoetrope.Runtime.Checking;

/// <summary>What <see cref="OpChecker"/> runs.</summary>
public sealed record CheckOptions
{
    /// <summary>The backends to check against the reference (the reference itself needs no check).</summary>
    public IReadOnlyList<BackendKind> Backends { get; init; } = [BackendKind.IlgpuCpu];

    /// <summary>Op names to check; empty means all registered ops.</summary>
    public IReadOnlyList<string> Ops { get; init; } = [];

    /// <summary>Base seed; each (op, case) derives its own from it.</summary>
    public int Seed { get; init; } = 20260101;

    /// <summary>Also run the benchmark-only (model-sized) cases: for GPUs with time to spare.</summary>
    public bool IncludeBenchCases { get; init; }

    /// <summary>
    /// On the emulated backends, keep what the emulated device counted for each case (warp
    /// instructions by class, global sectors, shared wavefronts) in <see cref="CheckRow.Emulated"/>.
    /// </summary>
    public bool EmulatorCounters { get; init; }

    /// <summary>
    /// A folder to keep every backend's outputs in, bit for bit (<see cref="OutputStore"/>): the
    /// device kit compares the emulated device's with a GPU's for the same seeded inputs.
    /// </summary>
    public string? SaveOutputs { get; init; }
}
