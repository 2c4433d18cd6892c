namespace Zoetrope.Emulator.Device;

/// <summary>
/// What the emulated device reports through the runtime and driver attribute queries. It runs
/// compute_80 PTX, so it presents itself as an sm_80 part with A100-like limits (108 SMs,
/// 48 KB of shared memory per block by default and 163 KB with the opt-in attribute).
/// </summary>
public sealed record DeviceProperties
{
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
