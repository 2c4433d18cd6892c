namespace Zoetrope.Runtime.Ops;

/// <summary>
/// An op with its parameters fixed, seen without its parameter type: what the harness, the CLI
/// and the benchmarks work with.
/// </summary>
public abstract class OpInstance
{
    /// <summary>The op.</summary>
    public abstract IOpInfo Op { get; }

    /// <summary>The parameters' label.</summary>
    public abstract string Label { get; }

    /// <summary>The tensors this instance takes and makes.</summary>
    public abstract OpSignature Signature { get; }

    /// <summary>The <c>--attr</c> values (those not at their default) that bind back to this instance.</summary>
    public abstract IReadOnlyList<KeyValuePair<string, string>> Attributes { get; }

    /// <summary>Operations and bytes of one run.</summary>
    public abstract OpCost Cost { get; }

    /// <summary>Runs on <paramref name="backend"/> after checking the tensors against <see cref="Signature"/>.</summary>
    /// <exception cref="NotSupportedException">The op has no implementation on that backend.</exception>
    /// <exception cref="ArgumentException">A tensor is missing, or has the wrong dtype, shape or backend.</exception>
    public abstract void Run(Backend backend, OpTensors tensors);

    /// <summary>
    /// Runs the reference implementation on host tensors whose float outputs may be f64 (the
    /// harness keeps the oracle's result at full precision).
    /// </summary>
    public abstract void RunReference(OpTensors hostTensors);
}
