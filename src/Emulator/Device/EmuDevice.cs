using Zoetrope.Emulator.Exec;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Device;

/// <summary>
/// The emulated CUDA device: global memory, loaded modules, launches. Streams and events are
/// synchronous (a launch has finished when <see cref="Launch"/> returns), so the Host layer maps
/// every stream to this one queue. One device per process (<see cref="Shared"/>), as the runtime
/// and driver entry points that forward to it are process-wide.
/// </summary>
internal sealed class EmuDevice
{
    private readonly object _statsGate = new();
    private readonly List<LaunchStats> _launches = new();
    private string? _lastDiagnostic;

    /// <summary>The process's emulated device.</summary>
    public static EmuDevice Shared { get; } = new();

    /// <summary>Global memory.</summary>
    public DeviceMemory Memory { get; } = new();

    /// <summary>What the device reports to attribute queries.</summary>
    public DeviceProperties Properties { get; internal set; } = DeviceProperties.FromEnvironment();

    /// <summary>Whether launches run the checkers (races, uninitialised shared reads, cp.async, barriers). On by default.</summary>
    public bool Checks { get; set; } = true;

    /// <summary>Whether each launch's <see cref="LaunchStats"/> is kept (see <see cref="TakeLaunches"/>).</summary>
    public bool RecordLaunches { get; set; }

    /// <summary>
    /// For counting only (0, the default: off): a launch of more CTAs than this runs this many,
    /// one from each of as many equal strides of the grid (a fixed pseudo-random one inside each,
    /// so grids whose CTAs differ, masked or sparse attention, are averaged over), and scales the
    /// counters to the whole grid (<see cref="LaunchStats.SampledCtas"/>). The other CTAs do not run:
    /// outputs are incomplete. What lets `zoe bench --sample-ctas` count model-sized cases. Limits:
    /// a persistent kernel (grid = min(tiles, SMs)) has each sampled CTA walk its share of tiles,
    /// so it is cut by the grid's ratio only; an op of several launches reads intermediates the
    /// unsampled CTAs never wrote, so a later kernel whose control flow depends on data (SLA's
    /// linear branch, block_map's selection) is counted on garbage; and the setting is the
    /// device's, so any launch while it is set is sampled (bench sets it for one case at a time).
    /// </summary>
    public int SampleCtas { get; set; }

    /// <summary>CTAs run in parallel (CTAs are independent; each one runs on one host thread).</summary>
    public int MaxParallelCtas { get; set; } = Environment.ProcessorCount;

    /// <summary>
    /// The full message of the last failure the Host layer turned into an error code (a kernel
    /// fault names kernel, CTA, thread, instruction and PTX line). Cleared by <see cref="TakeLastDiagnostic"/>.
    /// </summary>
    public string? LastDiagnostic
    {
        get => Volatile.Read(ref _lastDiagnostic);
        set => Volatile.Write(ref _lastDiagnostic, value);
    }

    /// <summary>Returns and clears <see cref="LastDiagnostic"/>.</summary>
    public string? TakeLastDiagnostic() => Interlocked.Exchange(ref _lastDiagnostic, null);

    /// <summary>Parses and loads a PTX module (text; a trailing NUL is allowed).</summary>
    /// <exception cref="EmulatorException">The PTX cannot be read (InvalidPtx, naming the line).</exception>
    public EmuModule LoadModule(string ptx, string origin)
    {
        ArgumentNullException.ThrowIfNull(ptx);
        var module = PtxParser.Parse(ptx.TrimEnd('\0'), origin);
        return new EmuModule(this, module, origin);
    }

    /// <summary>
    /// Runs <paramref name="function"/> to completion on <paramref name="config"/> with the packed
    /// parameter block. Geometry and shared memory are validated first, as a GPU's launch does.
    /// </summary>
    /// <exception cref="EmulatorException">A bad configuration, or a fault or checker finding in the kernel.</exception>
    public LaunchStats Launch(EmuFunction function, LaunchConfig config, ReadOnlySpan<byte> parameters)
    {
        ArgumentNullException.ThrowIfNull(function);
        Validate(function, config);
        if (parameters.Length < function.ParameterBytes)
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"launch of {function.Name}: {parameters.Length} parameter bytes, the kernel's parameters need {function.ParameterBytes}");
        }
        var stats = Interpreter.Run(this, function, config, parameters);
        if (RecordLaunches)
        {
            lock (_statsGate)
            {
                _launches.Add(stats);
            }
        }
        return stats;
    }

    /// <summary>Returns and clears the recorded launches.</summary>
    public IReadOnlyList<LaunchStats> TakeLaunches()
    {
        lock (_statsGate)
        {
            var copy = _launches.ToArray();
            _launches.Clear();
            return copy;
        }
    }

    /// <summary>The dynamic shared memory limit of <paramref name="function"/> now.</summary>
    public int DynamicSharedLimit(EmuFunction function) =>
        function.MaxDynamicSharedBytes >= 0
            ? function.MaxDynamicSharedBytes
            : Math.Max(0, Properties.SharedPerBlock - function.StaticSharedBytes);

    /// <summary>Sets cudaFuncAttributeMaxDynamicSharedMemorySize, checked against the opt-in limit.</summary>
    /// <exception cref="EmulatorException">More than the device allows (InvalidValue).</exception>
    public void SetMaxDynamicShared(EmuFunction function, int bytes)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (bytes < 0 || bytes + function.StaticSharedBytes > Properties.SharedPerBlockOptIn)
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"{function.Name}: MaxDynamicSharedMemorySize {bytes} + {function.StaticSharedBytes} static exceeds the device's {Properties.SharedPerBlockOptIn} bytes per block");
        }
        function.MaxDynamicSharedBytes = bytes;
    }

    private void Validate(EmuFunction f, LaunchConfig c)
    {
        var p = Properties;
        var (g, b) = (c.Grid, c.Block);
        if (g.X == 0 || g.Y == 0 || g.Z == 0 || b.X == 0 || b.Y == 0 || b.Z == 0
            || b.X > p.MaxBlock.X || b.Y > p.MaxBlock.Y || b.Z > p.MaxBlock.Z || b.Count > p.MaxThreadsPerBlock
            || g.X > p.MaxGrid.X || g.Y > p.MaxGrid.Y || g.Z > p.MaxGrid.Z)
        {
            throw new EmulatorException(EmuError.InvalidConfiguration,
                $"launch of {f.Name}: grid {g} block {b} is not a valid configuration (at most {p.MaxThreadsPerBlock} threads per block, block {p.MaxBlock}, grid {p.MaxGrid})");
        }
        if (c.DynamicSharedBytes < 0 || c.DynamicSharedBytes > DynamicSharedLimit(f))
        {
            throw new EmulatorException(EmuError.OutOfResources,
                $"launch of {f.Name}: {c.DynamicSharedBytes} bytes of dynamic shared memory, the limit is {DynamicSharedLimit(f)} "
                + (f.MaxDynamicSharedBytes < 0 ? "(48 KB minus static; set MaxDynamicSharedMemorySize to go beyond)" : "(MaxDynamicSharedMemorySize)"));
        }
    }
}
