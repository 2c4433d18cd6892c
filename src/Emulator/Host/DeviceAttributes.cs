using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// The answers to cuDeviceGetAttribute and cudaDeviceGetAttribute (the two enums share their
/// numbers), from <see cref="DeviceProperties"/>: an A100-like sm_80 part with unified
/// addressing. Numbers from cuda.h's CUdevice_attribute; an attribute not listed is
/// INVALID_VALUE, as for a number the driver does not know.
/// </summary>
internal static class DeviceAttributes
{
    /// <summary>The value of <paramref name="attribute"/>.</summary>
    /// <exception cref="EmulatorException">An attribute this device does not answer (InvalidValue).</exception>
    public static int Get(DeviceProperties p, int attribute) => attribute switch
    {
        1 => p.MaxThreadsPerBlock,
        2 => (int)p.MaxBlock.X,
        3 => (int)p.MaxBlock.Y,
        4 => (int)p.MaxBlock.Z,
        5 => (int)p.MaxGrid.X,
        6 => (int)p.MaxGrid.Y,
        7 => (int)p.MaxGrid.Z,
        8 => p.SharedPerBlock,
        9 => 64 * 1024,                        // TOTAL_CONSTANT_MEMORY
        10 => p.WarpSize,
        11 => int.MaxValue,                    // MAX_PITCH
        12 => p.RegistersPerBlock,
        13 => p.ClockKhz,
        14 => 512,                             // TEXTURE_ALIGNMENT
        15 => 1,                               // GPU_OVERLAP
        16 => p.MultiprocessorCount,
        17 => 0,                               // KERNEL_EXEC_TIMEOUT
        18 => 0,                               // INTEGRATED
        19 => 1,                               // CAN_MAP_HOST_MEMORY
        20 => 0,                               // COMPUTE_MODE default
        30 => 512,                             // SURFACE_ALIGNMENT
        31 => 1,                               // CONCURRENT_KERNELS
        32 => 0,                               // ECC_ENABLED
        33 => 0,                               // PCI_BUS_ID
        34 => 0,                               // PCI_DEVICE_ID
        35 => 0,                               // TCC_DRIVER
        36 => p.MemoryClockKhz,
        37 => p.MemoryBusWidth,
        38 => p.L2Bytes,
        39 => p.MaxThreadsPerMultiprocessor,
        40 => 2,                               // ASYNC_ENGINE_COUNT
        41 => 1,                               // UNIFIED_ADDRESSING: device pointers are host addresses
        50 => 0,                               // PCI_DOMAIN_ID
        75 => p.Major,
        76 => p.Minor,
        78 => 1,                               // STREAM_PRIORITIES_SUPPORTED
        79 => 1,                               // GLOBAL_L1_CACHE_SUPPORTED
        80 => 1,                               // LOCAL_L1_CACHE_SUPPORTED
        81 => p.SharedPerMultiprocessor,
        82 => p.RegistersPerBlock,             // MAX_REGISTERS_PER_MULTIPROCESSOR (64K on sm_80)
        83 => 0,                               // MANAGED_MEMORY: not emulated
        84 => 0,                               // MULTI_GPU_BOARD
        86 => 0,                               // HOST_NATIVE_ATOMIC_SUPPORTED
        87 => 2,                               // SINGLE_TO_DOUBLE_PRECISION_PERF_RATIO
        88 => 0,                               // PAGEABLE_MEMORY_ACCESS
        89 => 0,                               // CONCURRENT_MANAGED_ACCESS
        90 => 1,                               // COMPUTE_PREEMPTION_SUPPORTED
        91 => 1,                               // CAN_USE_HOST_POINTER_FOR_REGISTERED_MEM
        95 => 0,                               // COOPERATIVE_LAUNCH: not emulated
        96 => 0,                               // COOPERATIVE_MULTI_DEVICE_LAUNCH
        97 => p.SharedPerBlockOptIn,
        99 => 1,                               // HOST_REGISTER_SUPPORTED
        106 => 32,                             // MAX_BLOCKS_PER_MULTIPROCESSOR (sm_80)
        108 => 0,                              // MAX_PERSISTING_L2_CACHE_SIZE
        111 => 1024,                           // RESERVED_SHARED_MEMORY_PER_BLOCK (sm_80)
        115 => 0,                              // MEMORY_POOLS_SUPPORTED
        120 => p.Major >= 9 ? 1 : 0,           // CLUSTER_LAUNCH: sm_90 (the emulator runs clusters of one CTA)
        127 => p.Major >= 9 ? 1 : 0,           // TENSOR_MAP_ACCESS_SUPPORTED: sm_90 (cp.async.bulk.tensor)
        _ => throw new EmulatorException(EmuError.InvalidValue, $"device attribute {attribute} is not one the emulated device answers"),
    };
}
