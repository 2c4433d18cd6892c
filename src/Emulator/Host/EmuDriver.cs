using System.Runtime.InteropServices;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// The CUDA driver API of the emulated device: the C# side of libzoetrope_cuda_emu.so, whose
/// exported cu* functions (native/emu/driver_api.def) forward here once <see cref="Install"/> has
/// handed it these implementations. ILGPU's CUDA accelerator and our own driver binding load that
/// library in place of libcuda.so.1 and cannot tell the difference, down to CUresult codes.
/// </summary>
/// <remarks>
/// Every entry point is an <see cref="UnmanagedCallersOnlyAttribute"/> method named as the driver's and
/// with its C signature; each catches every exception, stores its message in
/// <see cref="Device.EmuDevice.LastDiagnostic"/> and returns the CUresult for it
/// (<see cref="HostCalls"/>). cuGetErrorString of the code just returned carries that message, so
/// ILGPU's CudaException, which is built from it, says what failed where.
/// </remarks>
internal static unsafe partial class EmuDriver
{
    private static readonly Lazy<(string Name, nint Function)[]> EntryTable = new(BuildEntries);

    /// <summary>The driver entry points implemented here, by name.</summary>
    internal static IReadOnlyList<(string Name, nint Function)> Entries => EntryTable.Value;

    /// <summary>
    /// Installs the implementations into a loaded libzoetrope_cuda_emu.so (idempotent). The
    /// library's list of entry points and this assembly's must be the same: a library built from
    /// another version of driver_api.def is refused, naming the difference.
    /// </summary>
    /// <param name="library">The handle from <see cref="NativeLibrary.Load(string)"/>.</param>
    /// <exception cref="InvalidOperationException">The library is not an emulated driver, or of another version.</exception>
    public static void Install(IntPtr library)
    {
        var names = LibraryNames(library, "zt_emu_driver_entry_count", "zt_emu_driver_entry_name");
        var ours = Entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        var notHere = names.Where(n => !ours.Contains(n)).ToArray();
        var notThere = ours.Where(n => !names.Contains(n)).ToArray();
        if (notHere.Length > 0 || notThere.Length > 0)
        {
            throw new InvalidOperationException(
                "libzoetrope_cuda_emu.so and Zoetrope.Emulator disagree on the driver entry points"
                + (notHere.Length > 0 ? $"; the library has {string.Join(", ", notHere)}, which the assembly does not implement" : string.Empty)
                + (notThere.Length > 0 ? $"; the assembly implements {string.Join(", ", notThere)}, which the library lacks" : string.Empty)
                + "; rebuild the library from this checkout (cmake --build build --target zoetrope_cuda_emu)");
        }
        int status = InstallByName(library, "zt_emu_driver_install", Entries);
        if (status != 0)
        {
            throw new InvalidOperationException($"zt_emu_driver_install failed with {status}");
        }
    }

    /// <summary>The entry point names a loaded emulated library lists (through its count and name exports).</summary>
    internal static HashSet<string> LibraryNames(IntPtr library, string countExport, string nameExport)
    {
        if (!NativeLibrary.TryGetExport(library, countExport, out var countFn) || !NativeLibrary.TryGetExport(library, nameExport, out var nameFn))
        {
            throw new InvalidOperationException($"the library has no {countExport}: it is not one of the emulated CUDA device's libraries");
        }
        int count = ((delegate* unmanaged<int>)countFn)();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            names.Add(Marshal.PtrToStringUTF8((nint)((delegate* unmanaged<int, byte*>)nameFn)(i)) ?? string.Empty);
        }
        return names;
    }

    /// <summary>Calls a library's install-by-name export with <paramref name="entries"/>; returns its status.</summary>
    internal static int InstallByName(IntPtr library, string installExport, IReadOnlyList<(string Name, nint Function)> entries)
    {
        var install = (delegate* unmanaged<byte**, nint*, int, int>)NativeLibrary.GetExport(library, installExport);
        var names = new nint[entries.Count];
        var functions = new nint[entries.Count];
        try
        {
            for (int i = 0; i < entries.Count; i++)
            {
                names[i] = Marshal.StringToCoTaskMemUTF8(entries[i].Name);
                functions[i] = entries[i].Function;
            }
            // The library keeps the function pointers (stable for the process), not the names.
            fixed (nint* n = names)
            fixed (nint* f = functions)
            {
                return install((byte**)n, f, entries.Count);
            }
        }
        finally
        {
            foreach (var n in names)
            {
                Marshal.FreeCoTaskMem(n);
            }
        }
    }

    // The table by address-of, so each method's signature is checked against the pointer type
    // written here; the C side of each is driver_api.def.
    private static (string, nint)[] BuildEntries() =>
    [
        (nameof(cuInit), (nint)(delegate* unmanaged<uint, int>)&cuInit),
        (nameof(cuDriverGetVersion), (nint)(delegate* unmanaged<int*, int>)&cuDriverGetVersion),
        (nameof(cuGetErrorName), (nint)(delegate* unmanaged<int, byte**, int>)&cuGetErrorName),
        (nameof(cuGetErrorString), (nint)(delegate* unmanaged<int, byte**, int>)&cuGetErrorString),
        (nameof(cuDeviceGet), (nint)(delegate* unmanaged<int*, int, int>)&cuDeviceGet),
        (nameof(cuDeviceGetCount), (nint)(delegate* unmanaged<int*, int>)&cuDeviceGetCount),
        (nameof(cuDeviceGetName), (nint)(delegate* unmanaged<byte*, int, int, int>)&cuDeviceGetName),
        (nameof(cuDeviceTotalMem_v2), (nint)(delegate* unmanaged<nuint*, int, int>)&cuDeviceTotalMem_v2),
        (nameof(cuDeviceGetAttribute), (nint)(delegate* unmanaged<int*, int, int, int>)&cuDeviceGetAttribute),
        (nameof(cuDeviceCanAccessPeer), (nint)(delegate* unmanaged<int*, int, int, int>)&cuDeviceCanAccessPeer),
        (nameof(cuDeviceGetP2PAttribute), (nint)(delegate* unmanaged<int*, int, int, int, int>)&cuDeviceGetP2PAttribute),
        (nameof(cuCtxCreate_v2), (nint)(delegate* unmanaged<nint*, uint, int, int>)&cuCtxCreate_v2),
        (nameof(cuCtxDestroy_v2), (nint)(delegate* unmanaged<nint, int>)&cuCtxDestroy_v2),
        (nameof(cuCtxSetCurrent), (nint)(delegate* unmanaged<nint, int>)&cuCtxSetCurrent),
        (nameof(cuCtxGetCurrent), (nint)(delegate* unmanaged<nint*, int>)&cuCtxGetCurrent),
        (nameof(cuCtxGetDevice), (nint)(delegate* unmanaged<int*, int>)&cuCtxGetDevice),
        (nameof(cuCtxSynchronize), (nint)(delegate* unmanaged<int>)&cuCtxSynchronize),
        (nameof(cuCtxGetCacheConfig), (nint)(delegate* unmanaged<int*, int>)&cuCtxGetCacheConfig),
        (nameof(cuCtxSetCacheConfig), (nint)(delegate* unmanaged<int, int>)&cuCtxSetCacheConfig),
        (nameof(cuCtxGetSharedMemConfig), (nint)(delegate* unmanaged<int*, int>)&cuCtxGetSharedMemConfig),
        (nameof(cuCtxSetSharedMemConfig), (nint)(delegate* unmanaged<int, int>)&cuCtxSetSharedMemConfig),
        (nameof(cuCtxEnablePeerAccess), (nint)(delegate* unmanaged<nint, uint, int>)&cuCtxEnablePeerAccess),
        (nameof(cuCtxDisablePeerAccess), (nint)(delegate* unmanaged<nint, int>)&cuCtxDisablePeerAccess),
        (nameof(cuMemGetInfo_v2), (nint)(delegate* unmanaged<nuint*, nuint*, int>)&cuMemGetInfo_v2),
        (nameof(cuMemAlloc_v2), (nint)(delegate* unmanaged<ulong*, nuint, int>)&cuMemAlloc_v2),
        (nameof(cuMemFree_v2), (nint)(delegate* unmanaged<ulong, int>)&cuMemFree_v2),
        (nameof(cuMemAllocHost_v2), (nint)(delegate* unmanaged<void**, nuint, int>)&cuMemAllocHost_v2),
        (nameof(cuMemFreeHost), (nint)(delegate* unmanaged<void*, int>)&cuMemFreeHost),
        (nameof(cuMemHostRegister_v2), (nint)(delegate* unmanaged<void*, nuint, uint, int>)&cuMemHostRegister_v2),
        (nameof(cuMemHostUnregister), (nint)(delegate* unmanaged<void*, int>)&cuMemHostUnregister),
        (nameof(cuMemHostGetDevicePointer_v2), (nint)(delegate* unmanaged<ulong*, void*, uint, int>)&cuMemHostGetDevicePointer_v2),
        (nameof(cuPointerGetAttribute), (nint)(delegate* unmanaged<void*, int, ulong, int>)&cuPointerGetAttribute),
        (nameof(cuMemcpy), (nint)(delegate* unmanaged<ulong, ulong, nuint, int>)&cuMemcpy),
        (nameof(cuMemcpyAsync), (nint)(delegate* unmanaged<ulong, ulong, nuint, nint, int>)&cuMemcpyAsync),
        (nameof(cuMemsetD8_v2), (nint)(delegate* unmanaged<ulong, byte, nuint, int>)&cuMemsetD8_v2),
        (nameof(cuMemsetD8Async), (nint)(delegate* unmanaged<ulong, byte, nuint, nint, int>)&cuMemsetD8Async),
        (nameof(cuStreamCreate), (nint)(delegate* unmanaged<nint*, uint, int>)&cuStreamCreate),
        (nameof(cuStreamCreateWithPriority), (nint)(delegate* unmanaged<nint*, uint, int, int>)&cuStreamCreateWithPriority),
        (nameof(cuStreamDestroy_v2), (nint)(delegate* unmanaged<nint, int>)&cuStreamDestroy_v2),
        (nameof(cuStreamSynchronize), (nint)(delegate* unmanaged<nint, int>)&cuStreamSynchronize),
        (nameof(cuStreamQuery), (nint)(delegate* unmanaged<nint, int>)&cuStreamQuery),
        (nameof(cuEventCreate), (nint)(delegate* unmanaged<nint*, uint, int>)&cuEventCreate),
        (nameof(cuEventDestroy_v2), (nint)(delegate* unmanaged<nint, int>)&cuEventDestroy_v2),
        (nameof(cuEventRecord), (nint)(delegate* unmanaged<nint, nint, int>)&cuEventRecord),
        (nameof(cuEventQuery), (nint)(delegate* unmanaged<nint, int>)&cuEventQuery),
        (nameof(cuEventSynchronize), (nint)(delegate* unmanaged<nint, int>)&cuEventSynchronize),
        (nameof(cuEventElapsedTime), (nint)(delegate* unmanaged<float*, nint, nint, int>)&cuEventElapsedTime),
        (nameof(cuModuleLoadData), (nint)(delegate* unmanaged<nint*, byte*, int>)&cuModuleLoadData),
        (nameof(cuModuleLoadDataEx), (nint)(delegate* unmanaged<nint*, byte*, uint, int*, void**, int>)&cuModuleLoadDataEx),
        (nameof(cuModuleUnload), (nint)(delegate* unmanaged<nint, int>)&cuModuleUnload),
        (nameof(cuModuleGetFunction), (nint)(delegate* unmanaged<nint*, nint, byte*, int>)&cuModuleGetFunction),
        (nameof(cuFuncGetAttribute), (nint)(delegate* unmanaged<int*, int, nint, int>)&cuFuncGetAttribute),
        (nameof(cuFuncSetAttribute), (nint)(delegate* unmanaged<nint, int, int, int>)&cuFuncSetAttribute),
        (nameof(cuLaunchKernel), (nint)(delegate* unmanaged<nint, uint, uint, uint, uint, uint, uint, uint, nint, void**, void**, int>)&cuLaunchKernel),
        (nameof(cuOccupancyMaxActiveBlocksPerMultiprocessor), (nint)(delegate* unmanaged<int*, nint, int, nuint, int>)&cuOccupancyMaxActiveBlocksPerMultiprocessor),
        (nameof(cuOccupancyMaxPotentialBlockSize), (nint)(delegate* unmanaged<int*, int*, nint, nint, nuint, int, int>)&cuOccupancyMaxPotentialBlockSize),
        (nameof(cuTensorMapEncodeTiled), TensorMapEncoder),
    ];

    /// <summary>cuTensorMapEncodeTiled's function pointer (also what the runtime's cudaGetDriverEntryPoint returns).</summary>
    internal static nint TensorMapEncoder =>
        (nint)(delegate* unmanaged<void*, int, uint, void*, ulong*, ulong*, uint*, uint*, int, int, int, int, int>)&cuTensorMapEncodeTiled;

    /// <summary>Throws InvalidValue naming <paramref name="what"/> when <paramref name="p"/> is null.</summary>
    private static void NotNull(void* p, string what, string call)
    {
        if (p == null)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"{call}: {what} is a null pointer");
        }
    }

    private static void RequireDevice(int device)
    {
        if (device != 0)
        {
            throw HostException.InvalidDevice(device);
        }
    }
}
