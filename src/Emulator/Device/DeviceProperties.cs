namespace Zoetrope.Emulator.Device;

/// <summary>
/// What the emulated device reports through the runtime and driver attribute queries. By default
/// it runs compute_80 PTX and presents itself as an sm_80 part with A100-like limits (108 SMs,
/// 48 KB of shared memory per block by default and 163 KB with the opt-in attribute).
/// <c>ZOETROPE_EMU_SM=89</c> makes it an sm_89 part with Ada's limits (128 SMs, 99 KB opt-in, 100 KB
/// per SM): the runtime then picks a fat binary's compute_89 PTX, so the kernels' sm_89 paths
/// (native e4m3 <c>mma.sync</c> and fp8 conversions) run and are checked as the sm_80 ones are.
/// <c>ZOETROPE_EMU_SM=90</c> makes it an H100-SXM-like sm_90 part (132 SMs, 227 KB opt-in, HBM3): the
/// runtime picks compute_90a PTX, so the Hopper paths (mbarrier, TMA, wgmma) run.
/// </summary>
internal sealed record DeviceProperties
{
    /// <summary>The environment variable that picks the emulated architecture (80, 89 or 90).</summary>
    public const string ArchVariable = "ZOETROPE_EMU_SM";

    /// <summary>The architectures the emulated device can present.</summary>
    public static IReadOnlyList<int> Archs { get; } = [80, 89, 90];

    /// <summary>An sm_80 part (A100-like).</summary>
    public static DeviceProperties Sm80 { get; } = new();

    /// <summary>An sm_89 part (Ada: RTX 4090 / L40S-like limits).</summary>
    public static DeviceProperties Sm89 { get; } = new()
    {
        Name = "Zoetrope emulated CUDA device (sm_89)",
        Minor = 9,
        MultiprocessorCount = 128,
        SharedPerBlockOptIn = 99 * 1024,
        SharedPerMultiprocessor = 100 * 1024,
        MaxThreadsPerMultiprocessor = 1536,
        ClockKhz = 2520000,
        MemoryClockKhz = 10501000,
        MemoryBusWidth = 384,
        L2Bytes = 72 * 1024 * 1024,
    };

    /// <summary>An sm_90 part (H100 SXM-like limits; it runs sm_90a code, as an H100 does).</summary>
    public static DeviceProperties Sm90 { get; } = new()
    {
        Name = "Zoetrope emulated CUDA device (sm_90)",
        Major = 9,
        Minor = 0,
        MultiprocessorCount = 132,
        SharedPerBlockOptIn = 227 * 1024,
        SharedPerMultiprocessor = 228 * 1024,
        MaxThreadsPerMultiprocessor = 2048,
        ClockKhz = 1980000,
        // HBM3: 2619 MHz x 5120 bits x 2 (DDR) / 8 = 3.35 TB/s.
        MemoryClockKhz = 2619000,
        MemoryBusWidth = 5120,
        L2Bytes = 50 * 1024 * 1024,
    };

    /// <summary>The part <see cref="ArchVariable"/> names (sm_80 when unset).</summary>
    /// <exception cref="EmulatorException">The variable names an architecture the emulator does not present.</exception>
    public static DeviceProperties FromEnvironment()
    {
        string? v = Environment.GetEnvironmentVariable(ArchVariable);
        return string.IsNullOrWhiteSpace(v) ? Sm80 : v.Trim().TrimStart('s', 'm', '_') switch
        {
            "80" => Sm80,
            "89" => Sm89,
            "90" or "90a" => Sm90,
            _ => throw new EmulatorException(EmuError.InvalidValue,
                $"{ArchVariable}={v}: the emulated device presents sm_{string.Join(", sm_", Archs)}"),
        };
    }

    /// <summary>The device name.</summary>
    public string Name { get; init; } = "Zoetrope emulated CUDA device (sm_80)";
    /// <summary>Compute capability major.</summary>
    public int Major { get; init; } = 8;
    /// <summary>Compute capability minor.</summary>
    public int Minor { get; init; }
    /// <summary>Streaming multiprocessors.</summary>
    public int MultiprocessorCount { get; init; } = 108;
    /// <summary>Warp size.</summary>
    public int WarpSize { get; init; } = 32;
    /// <summary>Threads per block.</summary>
    public int MaxThreadsPerBlock { get; init; } = 1024;
    /// <summary>Block extents.</summary>
    public Dim3 MaxBlock { get; init; } = new(1024, 1024, 64);
    /// <summary>Grid extents.</summary>
    public Dim3 MaxGrid { get; init; } = new(int.MaxValue, 65535, 65535);
    /// <summary>Shared memory per block without the opt-in attribute.</summary>
    public int SharedPerBlock { get; init; } = 48 * 1024;
    /// <summary>Shared memory per block with cudaFuncAttributeMaxDynamicSharedMemorySize.</summary>
    public int SharedPerBlockOptIn { get; init; } = 163 * 1024;
    /// <summary>Shared memory per SM.</summary>
    public int SharedPerMultiprocessor { get; init; } = 164 * 1024;
    /// <summary>32-bit registers per block.</summary>
    public int RegistersPerBlock { get; init; } = 65536;
    /// <summary>Threads per SM.</summary>
    public int MaxThreadsPerMultiprocessor { get; init; } = 2048;
    /// <summary>Core clock in kHz.</summary>
    public int ClockKhz { get; init; } = 1410000;
    /// <summary>Memory clock in kHz.</summary>
    public int MemoryClockKhz { get; init; } = 1215000;
    /// <summary>Memory bus width in bits.</summary>
    public int MemoryBusWidth { get; init; } = 5120;
    /// <summary>L2 bytes.</summary>
    public int L2Bytes { get; init; } = 40 * 1024 * 1024;
    /// <summary>The driver version reported (12.4).</summary>
    public int DriverVersion { get; init; } = 12040;
}
