namespace Zoetrope.Runtime.Cuda;

/// <summary>The <c>CUdevice_attribute</c> values this project reads (numbers from cuda.h).</summary>
internal enum CuDeviceAttribute
{
    /// <summary>Peak SM clock in kHz.</summary>
    ClockRate = 13,
    /// <summary>Number of streaming multiprocessors.</summary>
    MultiprocessorCount = 16,
    /// <summary>Peak memory clock in kHz.</summary>
    MemoryClockRate = 36,
    /// <summary>Global memory bus width in bits.</summary>
    GlobalMemoryBusWidth = 37,
    /// <summary>L2 cache size in bytes.</summary>
    L2CacheSize = 38,
    /// <summary>Compute capability, major.</summary>
    ComputeCapabilityMajor = 75,
    /// <summary>Compute capability, minor.</summary>
    ComputeCapabilityMinor = 76,
    /// <summary>Largest opt-in shared memory per block in bytes.</summary>
    MaxSharedMemoryPerBlockOptin = 97,
}
