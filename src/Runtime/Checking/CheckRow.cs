namespace Zoetrope.Runtime.Checking;

/// <summary>One line of a check report.</summary>
/// <param name="Op">The op's name.</param>
/// <param name="Case">The case label.</param>
/// <param name="Backend">The backend checked.</param>
/// <param name="Status">The outcome.</param>
/// <param name="Output">The output the figures refer to (the worst one), or empty.</param>
/// <param name="RelL2">Relative L2 error of that output against the reference.</param>
/// <param name="MaxAbs">Largest absolute element error of that output.</param>
/// <param name="Tolerance">The tolerance it was held to.</param>
/// <param name="Milliseconds">Wall time of the backend's run (first run: includes kernel compilation).</param>
/// <param name="Message">Why it failed, was skipped or is unsupported; empty on a pass.</param>
/// <remarks>Rows of emulated backends can carry the device's counters (<see cref="Emulated"/>).</remarks>
public sealed record CheckRow(
    string Op,
    string Case,
    string Backend,
    CheckStatus Status,
    string Output,
    double RelL2,
    double MaxAbs,
    string Tolerance,
    double Milliseconds,
    string Message)
{
    /// <summary>
    /// On an emulated backend with <see cref="CheckOptions.EmulatorCounters"/>: what the emulated
    /// device counted per kernel for this case's run (empty otherwise).
    /// </summary>
    internal IReadOnlyList<Execution.EmulatorCounters> Emulated { get; init; } = [];

    /// <summary>The bytes the op's cost model says the case must move (to set against the emulator's bytes moved).</summary>
    public double ModelBytes { get; init; }

    /// <summary>The arithmetic operations the op's cost model counts for the case (with <see cref="ModelBytes"/>: whether it is memory-bound).</summary>
    public double ModelFlops { get; init; }
}
