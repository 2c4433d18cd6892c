using System.Runtime.CompilerServices;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// cuFuncGetAttribute / cuFuncSetAttribute and cudaFuncGetAttributes / cudaFuncSetAttribute,
/// which number the attributes alike (CUfunction_attribute = cudaFuncAttribute for the settable
/// ones). The PTX is never register-allocated, so NUM_REGS is 0.
/// </summary>
internal static class FunctionAttributes
{
    /// <summary>MAX_THREADS_PER_BLOCK.</summary>
    public const int MaxThreadsPerBlock = 0;
    /// <summary>SHARED_SIZE_BYTES (static shared memory).</summary>
    public const int SharedSizeBytes = 1;
    /// <summary>CONST_SIZE_BYTES.</summary>
    public const int ConstSizeBytes = 2;
    /// <summary>LOCAL_SIZE_BYTES.</summary>
    public const int LocalSizeBytes = 3;
    /// <summary>NUM_REGS.</summary>
    public const int NumRegs = 4;
    /// <summary>PTX_VERSION (the virtual architecture, 80).</summary>
    public const int PtxVersion = 5;
    /// <summary>BINARY_VERSION (the architecture it runs as, 80).</summary>
    public const int BinaryVersion = 6;
    /// <summary>CACHE_MODE_CA.</summary>
    public const int CacheModeCa = 7;
    /// <summary>MAX_DYNAMIC_SHARED_SIZE_BYTES (settable).</summary>
    public const int MaxDynamicSharedSizeBytes = 8;
    /// <summary>PREFERRED_SHARED_MEMORY_CARVEOUT (settable; a hint with no effect here).</summary>
    public const int PreferredSharedMemoryCarveout = 9;

    private static readonly ConditionalWeakTable<EmuFunction, StrongBox<int>> Carveouts = new();

    /// <summary>The value of <paramref name="attribute"/> for <paramref name="f"/>.</summary>
    /// <exception cref="EmulatorException">Not a function attribute (InvalidValue).</exception>
    public static int Get(EmuFunction f, int attribute)
    {
        var device = HostState.Device.Properties;
        return attribute switch
        {
            MaxThreadsPerBlock => device.MaxThreadsPerBlock,
            SharedSizeBytes => f.StaticSharedBytes,
            ConstSizeBytes => 0,
            LocalSizeBytes => f.LocalBytes,
            NumRegs => 0,
            PtxVersion or BinaryVersion => device.Major * 10 + device.Minor,
            CacheModeCa => 0,
            MaxDynamicSharedSizeBytes => HostState.Executor.DynamicSharedLimit(f),
            PreferredSharedMemoryCarveout => Carveouts.TryGetValue(f, out var c) ? c.Value : -1,
            // The cluster attributes (10..15): sm_80 has no clusters.
            >= 10 and <= 15 => 0,
            _ => throw new EmulatorException(EmuError.InvalidValue, $"{f.Name}: function attribute {attribute} is not one the emulated device answers"),
        };
    }

    /// <summary>Sets <paramref name="attribute"/> of <paramref name="f"/>.</summary>
    /// <exception cref="EmulatorException">Not settable, or out of range (InvalidValue).</exception>
    public static void Set(EmuFunction f, int attribute, int value)
    {
        switch (attribute)
        {
            case MaxDynamicSharedSizeBytes:
                HostState.Executor.SetMaxDynamicShared(f, value);
                break;
            case PreferredSharedMemoryCarveout when value is >= -1 and <= 100:
                Carveouts.AddOrUpdate(f, new StrongBox<int>(value));
                break;
            default:
                throw new EmulatorException(EmuError.InvalidValue,
                    $"{f.Name}: function attribute {attribute} = {value} cannot be set on the emulated device (MaxDynamicSharedMemorySize and PreferredSharedMemoryCarveout can)");
        }
    }

    /// <summary>
    /// Resident blocks per SM for a launch of <paramref name="f"/> with <paramref name="blockSize"/>
    /// threads and <paramref name="dynamicShared"/> bytes, from the thread, block and shared-memory
    /// limits of the device (registers are not allocated, so they do not limit it).
    /// </summary>
    public static int ActiveBlocksPerSm(EmuFunction f, int blockSize, long dynamicShared)
    {
        var p = HostState.Device.Properties;
        if (blockSize <= 0 || blockSize > p.MaxThreadsPerBlock || dynamicShared < 0)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"{f.Name}: occupancy for block size {blockSize} and {dynamicShared} dynamic shared bytes");
        }
        int warps = (blockSize + p.WarpSize - 1) / p.WarpSize;
        int byThreads = p.MaxThreadsPerMultiprocessor / (warps * p.WarpSize);
        long shared = f.StaticSharedBytes + dynamicShared;
        if (shared > p.SharedPerBlockOptIn)
        {
            return 0;
        }
        // Each resident block also reserves 1 KB of shared memory on sm_80.
        long bySharedMemory = shared == 0 ? int.MaxValue : p.SharedPerMultiprocessor / (shared + 1024);
        return (int)Math.Min(Math.Min(byThreads, 32), bySharedMemory);
    }
}
