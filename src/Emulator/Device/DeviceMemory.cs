using System.Runtime.InteropServices;

namespace Zoetrope.Emulator.Device;

/// <summary>
/// The emulated device's global memory. A device pointer is the address of a host block
/// (<see cref="NativeMemory.AlignedAlloc"/>, 256-byte aligned like cudaMalloc), so host code that
/// copies with the runtime or driver API and the interpreter see the same bytes. Every global
/// access of a kernel is checked against the table of live allocations: an address outside all of
/// them is an out-of-bounds access the launch reports, never a host crash.
/// </summary>
internal sealed unsafe class DeviceMemory
{
    /// <summary>The alignment cudaMalloc guarantees, and so does this allocator.</summary>
    public const int Alignment = 256;

    private readonly object _gate = new();
    // Sorted by start address; lookups binary-search it. Few allocations live at once.
    private readonly List<(ulong Start, ulong Length)> _blocks = new();
    private long _bytesInUse;

    /// <summary>The capacity reported as total memory.</summary>
    public long Capacity { get; init; } = 16L << 30;

    /// <summary>Bytes currently allocated.</summary>
    public long BytesInUse => Interlocked.Read(ref _bytesInUse);

    /// <summary>Allocates <paramref name="bytes"/> (at least 1) of zero-filled device memory.</summary>
    /// <returns>The device address, or 0 when the capacity would be exceeded.</returns>
    public ulong Allocate(long bytes)
    {
        if (bytes < 0)
        {
            return 0;
        }
        long n = Math.Max(1, bytes);
        lock (_gate)
        {
            if (_bytesInUse + n > Capacity)
            {
                return 0;
            }
            // Rounded up to the alignment so a vector access at the end of a block stays inside
            // the host block; the recorded length is the requested one, so it is still checked.
            var p = (ulong)NativeMemory.AlignedAlloc((nuint)((n + Alignment - 1) / Alignment * Alignment), Alignment);
            NativeMemory.Clear((void*)p, (nuint)n);
            int i = _blocks.BinarySearch((p, 0), StartComparer.Instance);
            _blocks.Insert(i < 0 ? ~i : i, (p, (ulong)n));
            _bytesInUse += n;
            return p;
        }
    }

    /// <summary>Frees an allocation made by <see cref="Allocate"/>; false for any other address.</summary>
    public bool Free(ulong address)
    {
        lock (_gate)
        {
            int i = _blocks.BinarySearch((address, 0), StartComparer.Instance);
            if (i < 0)
            {
                return false;
            }
            _bytesInUse -= (long)_blocks[i].Length;
            _blocks.RemoveAt(i);
            NativeMemory.AlignedFree((void*)address);
            return true;
        }
    }

    /// <summary>
    /// The allocation holding [<paramref name="address"/>, <paramref name="address"/> + <paramref name="length"/>),
    /// or false when the range is not inside one live allocation.
    /// </summary>
    public bool TryFind(ulong address, ulong length, out ulong start, out ulong size)
    {
        lock (_gate)
        {
            int i = _blocks.BinarySearch((address, 0), StartComparer.Instance);
            if (i < 0)
            {
                i = ~i - 1;
            }
            if (i >= 0)
            {
                var (s, n) = _blocks[i];
                if (address >= s && address + length <= s + n)
                {
                    start = s;
                    size = n;
                    return true;
                }
            }
            start = size = 0;
            return false;
        }
    }

    /// <summary>A copy of the live allocations (start, length), sorted by start.</summary>
    public (ulong Start, ulong Length)[] Snapshot()
    {
        lock (_gate)
        {
            return _blocks.ToArray();
        }
    }

    /// <summary>Checks that [address, address+length) is device memory; throws naming the range otherwise.</summary>
    /// <exception cref="EmulatorException">The range is not inside one allocation.</exception>
    public void Require(ulong address, ulong length, string what)
    {
        if (length != 0 && !TryFind(address, length, out _, out _))
        {
            throw new EmulatorException(EmuError.InvalidValue, $"{what}: [0x{address:x}, +{length}) is not inside one device allocation");
        }
    }

    private sealed class StartComparer : IComparer<(ulong Start, ulong Length)>
    {
        public static readonly StartComparer Instance = new();

        public int Compare((ulong Start, ulong Length) x, (ulong Start, ulong Length) y) => x.Start.CompareTo(y.Start);
    }
}
