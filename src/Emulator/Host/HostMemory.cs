using System.Runtime.InteropServices;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// Copies, fills and host memory for the driver and runtime entry points. Device pointers are
/// host addresses (<see cref="DeviceMemory"/>), so a copy is a memmove once its ranges are
/// checked: a range that starts inside a device allocation must end inside it (an overrun is
/// INVALID_VALUE naming the allocation, where a GPU would fault or corrupt); a range that starts
/// outside every allocation is host memory, as unified addressing infers it, and cannot be
/// checked. Page-locked host memory (cuMemAllocHost, cuMemHostRegister) is ordinary host memory
/// that is remembered, so pointer queries can say HOST.
/// </summary>
internal static unsafe class HostMemory
{
    /// <summary>cudaMemcpyKind: host to host.</summary>
    public const int HostToHost = 0;
    /// <summary>cudaMemcpyKind: host to device.</summary>
    public const int HostToDevice = 1;
    /// <summary>cudaMemcpyKind: device to host.</summary>
    public const int DeviceToHost = 2;
    /// <summary>cudaMemcpyKind: device to device.</summary>
    public const int DeviceToDevice = 3;
    /// <summary>cudaMemcpyKind: inferred from the pointers (what the driver's cuMemcpy does).</summary>
    public const int Default = 4;

    /// <summary>CUmemorytype: host.</summary>
    public const int MemoryTypeHost = 1;
    /// <summary>CUmemorytype: device.</summary>
    public const int MemoryTypeDevice = 2;

    private static readonly object Gate = new();
    private static readonly Dictionary<ulong, ulong> Pinned = new();
    private static readonly Dictionary<ulong, ulong> Registered = new();

    private static DeviceMemory Memory => HostState.Device.Memory;

    /// <summary>
    /// True when [address, address+length) is device memory; false when it starts outside every
    /// allocation (host memory).
    /// </summary>
    /// <exception cref="EmulatorException">It starts inside an allocation and runs past its end (InvalidValue).</exception>
    public static bool IsDeviceRange(ulong address, ulong length, string what)
    {
        if (Memory.TryFind(address, Math.Max(1, length), out _, out _))
        {
            return true;
        }
        if (Memory.TryFind(address, 1, out ulong start, out ulong size))
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"{what}: [0x{address:x}, +{length}) runs past the end of its device allocation [0x{start:x}, +{size})");
        }
        return false;
    }

    /// <summary>Copies <paramref name="bytes"/> from <paramref name="src"/> to <paramref name="dst"/> (overlap allowed).</summary>
    /// <exception cref="EmulatorException">A null pointer, an overrun, or a pointer that contradicts <paramref name="kind"/> (InvalidValue).</exception>
    public static void Copy(ulong dst, ulong src, ulong bytes, int kind, string call)
    {
        if (bytes == 0)
        {
            return;
        }
        if (dst == 0 || src == 0)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"{call}: {(dst == 0 ? "destination" : "source")} is a null pointer");
        }
        bool dstDevice = IsDeviceRange(dst, bytes, $"{call} destination");
        bool srcDevice = IsDeviceRange(src, bytes, $"{call} source");
        string? wrong = kind switch
        {
            HostToDevice when !dstDevice => "the destination of a host-to-device copy",
            DeviceToHost when !srcDevice => "the source of a device-to-host copy",
            DeviceToDevice when !dstDevice => "the destination of a device-to-device copy",
            DeviceToDevice when !srcDevice => "the source of a device-to-device copy",
            HostToHost or HostToDevice or DeviceToHost or DeviceToDevice or Default => null,
            _ => throw new EmulatorException(EmuError.InvalidValue, $"{call}: copy kind {kind} is not a cudaMemcpyKind"),
        };
        if (wrong is not null)
        {
            throw new EmulatorException(EmuError.InvalidValue,
                $"{call}: {wrong} (0x{(wrong.Contains("destination") ? dst : src):x}, {bytes} bytes) is not device memory");
        }
        Buffer.MemoryCopy((void*)src, (void*)dst, (long)bytes, (long)bytes);
    }

    /// <summary>Sets <paramref name="bytes"/> bytes of device memory at <paramref name="dst"/> to <paramref name="value"/>.</summary>
    /// <exception cref="EmulatorException">The range is not inside one device allocation (InvalidValue).</exception>
    public static void Fill(ulong dst, byte value, ulong bytes, string call)
    {
        if (bytes == 0)
        {
            return;
        }
        Memory.Require(dst, bytes, $"{call} destination");
        NativeMemory.Fill((void*)dst, (nuint)bytes, value);
    }

    /// <summary>cuMemAllocHost: page-locked host memory, which here is 256-byte aligned host memory.</summary>
    public static ulong AllocateHost(ulong bytes)
    {
        if (bytes == 0)
        {
            throw new EmulatorException(EmuError.InvalidValue, "cuMemAllocHost: 0 bytes");
        }
        var p = (ulong)NativeMemory.AlignedAlloc((nuint)bytes, DeviceMemory.Alignment);
        lock (Gate)
        {
            Pinned[p] = bytes;
        }
        return p;
    }

    /// <summary>cuMemFreeHost.</summary>
    /// <exception cref="EmulatorException">Not from <see cref="AllocateHost"/> (InvalidValue).</exception>
    public static void FreeHost(ulong pointer)
    {
        lock (Gate)
        {
            if (!Pinned.Remove(pointer))
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuMemFreeHost: 0x{pointer:x} was not allocated by cuMemAllocHost");
            }
        }
        NativeMemory.AlignedFree((void*)pointer);
    }

    /// <summary>cuMemHostRegister: remembers the range (the memory itself needs nothing).</summary>
    /// <exception cref="HostException">Already registered.</exception>
    public static void Register(ulong pointer, ulong bytes)
    {
        if (pointer == 0 || bytes == 0)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"cuMemHostRegister: [0x{pointer:x}, +{bytes}) is empty");
        }
        if (IsDeviceRange(pointer, bytes, "cuMemHostRegister"))
        {
            throw new EmulatorException(EmuError.InvalidValue, $"cuMemHostRegister: 0x{pointer:x} is device memory");
        }
        lock (Gate)
        {
            if (Find(Registered, pointer, 1) is not null)
            {
                throw HostException.AlreadyRegistered($"cuMemHostRegister: 0x{pointer:x} is already registered");
            }
            Registered[pointer] = bytes;
        }
    }

    /// <summary>cuMemHostUnregister.</summary>
    /// <exception cref="HostException">Not a registered range's start.</exception>
    public static void Unregister(ulong pointer)
    {
        lock (Gate)
        {
            if (!Registered.Remove(pointer))
            {
                throw HostException.NotRegistered($"cuMemHostUnregister: 0x{pointer:x} is not the start of a registered range");
            }
        }
    }

    /// <summary>
    /// What a pointer is: (CUmemorytype, start and size of its allocation or range), or null for
    /// memory the device knows nothing of.
    /// </summary>
    public static (int Type, ulong Start, ulong Size)? Describe(ulong pointer)
    {
        if (Memory.TryFind(pointer, 1, out ulong start, out ulong size))
        {
            return (MemoryTypeDevice, start, size);
        }
        lock (Gate)
        {
            return (Find(Pinned, pointer, 1) ?? Find(Registered, pointer, 1)) is { } host ? (MemoryTypeHost, host.Start, host.Size) : null;
        }
    }

    private static (ulong Start, ulong Size)? Find(Dictionary<ulong, ulong> ranges, ulong pointer, ulong length)
    {
        // Few page-locked ranges live at once (ILGPU registers one per copy): a scan is enough.
        foreach (var (start, size) in ranges)
        {
            if (pointer >= start && pointer + length <= start + size)
            {
                return (start, size);
            }
        }
        return null;
    }
}
