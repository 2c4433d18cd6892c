using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>What every CTA of one launch shares: the function, geometry, parameters, the allocation table, the first failure.</summary>
internal sealed class LaunchContext
{
    private EmulatorException? _failure;
    private int _lastHit = -1;

    public LaunchContext(EmuDevice device, EmuFunction function, LaunchConfig config, byte[] parameters)
    {
        Device = device;
        Function = function;
        Fn = function.Ptx;
        Config = config;
        Params = GC.AllocateArray<byte>(Math.Max(1, parameters.Length), pinned: true); // read through raw pointers
        parameters.CopyTo(Params, 0);
        Allocations = device.Memory.Snapshot();
        Threads = (int)config.Block.Count;
        WarpsPerCta = (Threads + 31) / 32;
        SharedBytes = Fn.DynamicSharedOffset + config.DynamicSharedBytes;
        if (config.DynamicSharedBytes == 0)
        {
            SharedBytes = Math.Max(Fn.StaticSharedBytes, 0);
        }
        Checks = device.Checks;
    }

    public EmuDevice Device { get; }
    public EmuFunction Function { get; }
    public PtxFunction Fn { get; }
    public LaunchConfig Config { get; }
    public byte[] Params { get; }
    /// <summary>Live allocations at launch (sorted by start): a kernel cannot allocate, so this is the table every access is checked against.</summary>
    public (ulong Start, ulong Length)[] Allocations { get; }
    public int Threads { get; }
    public int WarpsPerCta { get; }
    public int SharedBytes { get; }
    public bool Checks { get; }

    public bool Failed => Volatile.Read(ref _failure) is not null;

    public EmulatorException? Failure => _failure;

    public void Fail(EmulatorException e) => Interlocked.CompareExchange(ref _failure, e, null);

    /// <summary>The allocation holding [address, address+size), or -1.</summary>
    public int FindAllocation(ulong address, int size)
    {
        var a = Allocations;
        // Most accesses hit the same few allocations: try the last one found first.
        int last = _lastHit;
        if ((uint)last < (uint)a.Length && address >= a[last].Start && address + (ulong)size <= a[last].Start + a[last].Length)
        {
            return last;
        }
        int lo = 0, hi = a.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (a[mid].Start <= address)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        if (hi >= 0 && address >= a[hi].Start && address + (ulong)size <= a[hi].Start + a[hi].Length)
        {
            _lastHit = hi;
            return hi;
        }
        return -1;
    }
}
