using System.Runtime.InteropServices;

namespace Zoetrope.Emulator.Host;

// Device memory, page-locked host memory, pointer queries, copies and fills. Device pointers are
// host addresses (CUdeviceptr = the address of a DeviceMemory block), so HostMemory's checked
// memmove is the whole copy; "async" copies are done when they return.
internal static unsafe partial class EmuDriver
{
    [UnmanagedCallersOnly]
    private static int cuMemGetInfo_v2(nuint* free, nuint* total)
    {
        try
        {
            NotNull(free, "free", nameof(cuMemGetInfo_v2));
            NotNull(total, "total", nameof(cuMemGetInfo_v2));
            var memory = HostState.Device.Memory;
            *total = (nuint)memory.Capacity;
            *free = (nuint)Math.Max(0, memory.Capacity - memory.BytesInUse);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemGetInfo_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemAlloc_v2(ulong* pointer, nuint bytes)
    {
        try
        {
            NotNull(pointer, "pointer", nameof(cuMemAlloc_v2));
            if (bytes == 0 || bytes > long.MaxValue)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuMemAlloc: {bytes} bytes");
            }
            var memory = HostState.Device.Memory;
            ulong p = memory.Allocate((long)bytes);
            if (p == 0)
            {
                throw new EmulatorException(EmuError.OutOfMemory,
                    $"cuMemAlloc: {bytes} bytes do not fit: {memory.BytesInUse} of the device's {memory.Capacity} are in use");
            }
            *pointer = p;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemAlloc_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemFree_v2(ulong pointer)
    {
        try
        {
            // Freeing null succeeds (ILGPU frees the null pointer of every empty buffer).
            if (pointer != 0 && !HostState.Device.Memory.Free(pointer))
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuMemFree: 0x{pointer:x} is not the start of a live device allocation");
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemFree_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemAllocHost_v2(void** pointer, nuint bytes)
    {
        try
        {
            NotNull(pointer, "pointer", nameof(cuMemAllocHost_v2));
            *pointer = (void*)HostMemory.AllocateHost(bytes);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemAllocHost_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemFreeHost(void* pointer)
    {
        try
        {
            HostMemory.FreeHost((ulong)pointer);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemFreeHost));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemHostRegister_v2(void* pointer, nuint bytes, uint flags)
    {
        try
        {
            HostMemory.Register((ulong)pointer, bytes);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemHostRegister_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemHostUnregister(void* pointer)
    {
        try
        {
            HostMemory.Unregister((ulong)pointer);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemHostUnregister));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemHostGetDevicePointer_v2(ulong* devicePointer, void* pointer, uint flags)
    {
        try
        {
            NotNull(devicePointer, "devicePointer", nameof(cuMemHostGetDevicePointer_v2));
            if (flags != 0 || HostMemory.Describe((ulong)pointer) is not { Type: HostMemory.MemoryTypeHost })
            {
                throw new EmulatorException(EmuError.InvalidValue,
                    $"cuMemHostGetDevicePointer: 0x{(ulong)pointer:x} is not page-locked host memory (or flags {flags} are not 0)");
            }
            // Unified addressing: the device sees host memory at its host address.
            *devicePointer = (ulong)pointer;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemHostGetDevicePointer_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuPointerGetAttribute(void* data, int attribute, ulong pointer)
    {
        try
        {
            NotNull(data, "data", nameof(cuPointerGetAttribute));
            // Memory the device knows nothing of is INVALID_VALUE, which ILGPU reads as "not CUDA memory".
            var (type, start, size) = HostMemory.Describe(pointer)
                ?? throw new EmulatorException(EmuError.InvalidValue, $"cuPointerGetAttribute: 0x{pointer:x} is neither device nor page-locked host memory");
            switch (attribute)
            {
                case 1: // CONTEXT
                    *(nint*)data = HostState.CurrentContext;
                    break;
                case 2: // MEMORY_TYPE
                    *(uint*)data = (uint)type;
                    break;
                case 3: // DEVICE_POINTER
                    *(ulong*)data = pointer;
                    break;
                case 4 when type == HostMemory.MemoryTypeHost: // HOST_POINTER
                    *(nint*)data = (nint)pointer;
                    break;
                case 6: // SYNC_MEMOPS
                case 13: // MAPPED
                    *(int*)data = 1;
                    break;
                case 8: // IS_MANAGED
                case 9: // DEVICE_ORDINAL
                    *(int*)data = 0;
                    break;
                case 11: // RANGE_START_ADDR
                    *(ulong*)data = start;
                    break;
                case 12: // RANGE_SIZE
                    *(nuint*)data = (nuint)size;
                    break;
                default:
                    throw new EmulatorException(EmuError.InvalidValue, $"cuPointerGetAttribute: attribute {attribute} of 0x{pointer:x} is not answered");
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuPointerGetAttribute));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemcpy(ulong dst, ulong src, nuint bytes)
    {
        try
        {
            HostMemory.Copy(dst, src, bytes, HostMemory.Default, nameof(cuMemcpy));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemcpy));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemcpyAsync(ulong dst, ulong src, nuint bytes, nint stream)
    {
        try
        {
            HostState.RequireStream(stream, nameof(cuMemcpyAsync));
            HostMemory.Copy(dst, src, bytes, HostMemory.Default, nameof(cuMemcpyAsync));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemcpyAsync));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemsetD8_v2(ulong dst, byte value, nuint count)
    {
        try
        {
            HostMemory.Fill(dst, value, count, nameof(cuMemsetD8_v2));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemsetD8_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuMemsetD8Async(ulong dst, byte value, nuint count, nint stream)
    {
        try
        {
            HostState.RequireStream(stream, nameof(cuMemsetD8Async));
            HostMemory.Fill(dst, value, count, nameof(cuMemsetD8Async));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuMemsetD8Async));
        }
    }
}
