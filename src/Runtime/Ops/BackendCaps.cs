namespace Zoetrope.Runtime.Ops;

/// <summary>
/// The largest case (in <see cref="OpCost.Work"/>) the harness runs on each backend, so the
/// slow ones (ILGPU's CPU accelerator emulates every lane and barrier) get only tiny shapes.
/// </summary>
public sealed class BackendCaps
{
    private readonly double[] _max;

    private BackendCaps(double[] max)
    {
        _max = max;
    }

    /// <summary>Reference up to 2^26 work, ilgpu-cpu up to 2^17, GPUs unlimited, the emulated device up to 2^17.</summary>
    public static BackendCaps Default { get; } = new([1 << 26, 1 << 17, double.PositiveInfinity, double.PositiveInfinity, 1 << 17, 1 << 17]);

    /// <summary>A copy with a cap of <paramref name="maxWork"/> on <paramref name="kind"/>.</summary>
    public BackendCaps With(BackendKind kind, double maxWork)
    {
        var copy = (double[])_max.Clone();
        copy[(int)kind] = maxWork;
        return new BackendCaps(copy);
    }

    /// <summary>
    /// A copy with a cap of <paramref name="maxWork"/> on both emulated backends: they run on the
    /// same interpreter, and an op's Emulator cases are sized for it once.
    /// </summary>
    public BackendCaps WithEmulated(double maxWork) => With(BackendKind.IlgpuEmu, maxWork).With(BackendKind.CudaEmu, maxWork);

    /// <summary>The cap on <paramref name="kind"/>.</summary>
    public double MaxWork(BackendKind kind) => _max[(int)kind];

    /// <summary>True when a case of <paramref name="work"/> runs on <paramref name="kind"/>.</summary>
    public bool Allows(BackendKind kind, double work) => work <= _max[(int)kind];
}
