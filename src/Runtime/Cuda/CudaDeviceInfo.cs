namespace Zoetrope.Runtime.Cuda;

/// <summary>What the driver reports about one GPU.</summary>
/// <param name="Ordinal">Device ordinal.</param>
/// <param name="Name">Marketing name (NVIDIA H100 80GB HBM3...).</param>
/// <param name="SmMajor">Compute capability, major.</param>
/// <param name="SmMinor">Compute capability, minor.</param>
/// <param name="SmCount">Number of SMs.</param>
/// <param name="TotalMemoryBytes">Device memory in bytes.</param>
/// <param name="ClockKHz">Peak SM clock in kHz.</param>
/// <param name="MemoryClockKHz">Peak memory clock in kHz.</param>
/// <param name="MemoryBusWidthBits">Memory bus width in bits.</param>
/// <param name="L2CacheBytes">L2 cache size in bytes.</param>
/// <param name="MaxSharedMemoryPerBlock">Largest opt-in shared memory per block in bytes.</param>
public sealed record CudaDeviceInfo(
    int Ordinal,
    string Name,
    int SmMajor,
    int SmMinor,
    int SmCount,
    long TotalMemoryBytes,
    int ClockKHz,
    int MemoryClockKHz,
    int MemoryBusWidthBits,
    int L2CacheBytes,
    int MaxSharedMemoryPerBlock)
{
    /// <summary>The architecture name, e.g. sm_90.</summary>
    public string Sm => $"sm_{SmMajor}{SmMinor}";

    /// <summary>Theoretical peak DRAM bandwidth in GB/s (double data rate).</summary>
    public double PeakBandwidthGBps => 2.0 * MemoryClockKHz * 1e3 * (MemoryBusWidthBits / 8.0) / 1e9;
}
