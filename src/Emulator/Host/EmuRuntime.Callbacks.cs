using System.Runtime.InteropServices;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

// The callbacks of native/emu/runtime_callbacks.def. Each returns a cudaError_t.
internal static unsafe partial class EmuRuntime
{
    [UnmanagedCallersOnly]
    private static int OnRegisterFatbin(nint handle, nint wrapper)
    {
        try
        {
            RegisterFatBinary(handle, wrapper);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "__cudaRegisterFatBinary");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnRegisterFunction(nint handle, nint stub, byte* deviceName)
    {
        try
        {
            RegisterFunction(handle, stub, Marshal.PtrToStringUTF8((nint)deviceName) ?? string.Empty);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "__cudaRegisterFunction");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnRegisterVar(nint handle, nint hostVar, byte* deviceName, nuint bytes, int kind)
    {
        // __device__ / __constant__ variables live in their module (the PTX declares them); the
        // symbol copies that would reach them through the host shadow (cudaMemcpyToSymbol) are
        // not emulated yet, and none of the kernels uses one, so the registration is accepted.
        return CudaCodes.Success;
    }

    [UnmanagedCallersOnly]
    private static int OnLaunch(nint stub, uint* dims, void** args, nuint sharedBytes, nint stream)
    {
        try
        {
            HostState.RequireStream(stream, "cudaLaunchKernel");
            var f = Kernel(stub, "cudaLaunchKernel").Function();
            if (sharedBytes > int.MaxValue)
            {
                throw new EmulatorException(EmuError.OutOfResources, $"launch of {f.Name}: {sharedBytes} bytes of dynamic shared memory");
            }
            var config = new LaunchConfig(new Dim3(dims[0], dims[1], dims[2]), new Dim3(dims[3], dims[4], dims[5]), (int)sharedBytes);
            HostState.Executor.Launch(f, config, f.PackArguments(args));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaLaunchKernel");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnFuncGetAttribute(int* value, int attribute, nint stub)
    {
        try
        {
            if (value == null)
            {
                throw new EmulatorException(EmuError.InvalidValue, "cudaFuncGetAttributes: attributes is a null pointer");
            }
            *value = FunctionAttributes.Get(Kernel(stub, "cudaFuncGetAttributes").Function(), attribute);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaFuncGetAttributes");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnFuncSetAttribute(nint stub, int attribute, int value)
    {
        try
        {
            FunctionAttributes.Set(Kernel(stub, "cudaFuncSetAttribute").Function(), attribute, value);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaFuncSetAttribute");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnMemcpy(void* dst, void* src, nuint bytes, int kind, nint stream)
    {
        try
        {
            HostState.RequireStream(stream, "cudaMemcpy");
            HostMemory.Copy((ulong)dst, (ulong)src, bytes, kind, "cudaMemcpy");
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaMemcpy");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnMemset(void* dst, int value, nuint bytes, nint stream)
    {
        try
        {
            HostState.RequireStream(stream, "cudaMemset");
            HostMemory.Fill((ulong)dst, (byte)value, bytes, "cudaMemset");
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaMemset");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnMalloc(void** pointer, nuint bytes)
    {
        try
        {
            if (pointer == null)
            {
                throw new EmulatorException(EmuError.InvalidValue, "cudaMalloc: devPtr is a null pointer");
            }
            // cudaMalloc(0) succeeds with a null pointer.
            ulong p = bytes == 0 ? 0 : HostState.Device.Memory.Allocate(checked((long)bytes));
            if (bytes != 0 && p == 0)
            {
                throw new EmulatorException(EmuError.OutOfMemory, $"cudaMalloc: {bytes} bytes do not fit in the device's {HostState.Device.Memory.Capacity}");
            }
            *pointer = (void*)p;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaMalloc");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnFree(void* pointer)
    {
        try
        {
            if (pointer != null && !HostState.Device.Memory.Free((ulong)pointer))
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cudaFree: 0x{(ulong)pointer:x} is not the start of a live device allocation");
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaFree");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnDeviceAttribute(int* value, int attribute, int device)
    {
        try
        {
            if (value == null)
            {
                throw new EmulatorException(EmuError.InvalidValue, "cudaDeviceGetAttribute: value is a null pointer");
            }
            if (device != 0)
            {
                throw HostException.InvalidDevice(device);
            }
            *value = DeviceAttributes.Get(HostState.Device.Properties, attribute);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaDeviceGetAttribute");
        }
    }

    [UnmanagedCallersOnly]
    private static int OnSynchronize(nint stream)
    {
        try
        {
            HostState.RequireStream(stream, "cudaStreamSynchronize");
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaStreamSynchronize");
        }
    }

    /// <summary>
    /// cudaGetDriverEntryPoint: the emulated driver's implementation of a driver API function by
    /// name (the exact name, or its _v2 when the driver versioned it), as libcuda's cuGetProcAddress
    /// answers; an unknown name gives null and *found = 0 (cudaDriverEntryPointSymbolNotFound).
    /// </summary>
    [UnmanagedCallersOnly]
    private static int OnDriverEntryPoint(byte* symbol, nint* function, int* found)
    {
        try
        {
            string name = Marshal.PtrToStringUTF8((nint)symbol) ?? string.Empty;
            *function = DriverEntryPoint(name);
            *found = *function != 0 ? 1 : 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailRuntime(e, "cudaGetDriverEntryPoint");
        }
    }

    /// <summary>The emulated driver's function named <paramref name="name"/> (or its _v2), or 0.</summary>
    internal static nint DriverEntryPoint(string name)
    {
        foreach (var (n, f) in EmuDriver.Entries)
        {
            if (n == name || n == name + "_v2")
            {
                return f;
            }
        }
        return 0;
    }
}
