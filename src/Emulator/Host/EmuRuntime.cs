using System.Runtime.InteropServices;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// The CUDA runtime of the emulated device, as the hand-written kernels' host code sees it: the
/// C# side of the emulated runtime linked into libzoetrope_native_emu.so
/// (native/emu/zt_emu_runtime.cpp). That library's static constructors register their fat
/// binaries and kernels while it loads, before any C# is there; <see cref="Install"/> hands the
/// runtime its callbacks (native/emu/runtime_callbacks.def) and the runtime replays those
/// registrations into them. From then on a <c>kernel&lt;&lt;&lt;grid, block, shared, stream&gt;&gt;&gt;(args)</c>
/// in the library arrives here as the host stub's address, which maps to its fat binary's module
/// (loaded on first use) and the kernel's PTX entry.
/// </summary>
/// <remarks>
/// Like the driver's, every callback catches every exception, stores its message in
/// <see cref="Device.EmuDevice.LastDiagnostic"/> and returns the cudaError_t for it; the native
/// side makes that this thread's last error, which cudaGetLastError returns after the launch.
/// </remarks>
internal static unsafe partial class EmuRuntime
{
    private static readonly object Gate = new();
    private static readonly Dictionary<nint, RegisteredFatBinary> FatBinaries = new();
    private static readonly Dictionary<nint, RegisteredKernel> Kernels = new();
    private static readonly Lazy<(string Name, nint Function)[]> EntryTable = new(BuildEntries);

    /// <summary>The runtime callbacks implemented here, by name.</summary>
    internal static IReadOnlyList<(string Name, nint Function)> Entries => EntryTable.Value;

    /// <summary>How many kernels the installed library registered.</summary>
    public static int KernelCount
    {
        get
        {
            lock (Gate)
            {
                return Kernels.Count;
            }
        }
    }

    /// <summary>How many fat binaries the installed library registered.</summary>
    public static int FatBinaryCount
    {
        get
        {
            lock (Gate)
            {
                return FatBinaries.Count;
            }
        }
    }

    /// <summary>
    /// Installs the callbacks into a loaded libzoetrope_native_emu.so and takes in the fat
    /// binaries and kernels it registered. Installing again (the same library) re-registers the
    /// same objects, so it is harmless.
    /// </summary>
    /// <param name="library">The handle from <see cref="NativeLibrary.Load(string)"/>.</param>
    /// <exception cref="InvalidOperationException">
    /// Not an emulated library, one of another version, or a registration it cannot take (a fat
    /// binary without uncompressed compute_80 PTX): the message says which.
    /// </exception>
    public static void Install(IntPtr library)
    {
        var names = EmuDriver.LibraryNames(library, "zt_emu_runtime_entry_count", "zt_emu_runtime_entry_name");
        var ours = Entries.Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        if (!names.SetEquals(ours))
        {
            throw new InvalidOperationException(
                $"libzoetrope_native_emu.so's runtime callbacks ({string.Join(", ", names.Order())}) are not the ones Zoetrope.Emulator implements "
                + $"({string.Join(", ", ours.Order())}); rebuild the library from this checkout (cmake --build build --target zoetrope_native_emu)");
        }
        HostState.Device.TakeLastDiagnostic();
        int status = EmuDriver.InstallByName(library, "zt_emu_runtime_install", Entries);
        if (status != 0)
        {
            string detail = HostState.Device.TakeLastDiagnostic() ?? "no detail";
            throw new InvalidOperationException($"zt_emu_runtime_install failed with {status}: {detail}");
        }
    }

    /// <summary>The host stubs and device names registered, for tools and tests.</summary>
    public static IReadOnlyList<(nint Stub, string DeviceName)> RegisteredKernels()
    {
        lock (Gate)
        {
            return Kernels.Values.Select(k => (k.Stub, k.DeviceName)).ToArray();
        }
    }

    /// <summary>The registered kernel whose host stub is at <paramref name="stub"/>.</summary>
    /// <exception cref="EmulatorException">No kernel has that stub (NotFound: cudaErrorInvalidDeviceFunction).</exception>
    internal static RegisteredKernel Kernel(nint stub, string call)
    {
        lock (Gate)
        {
            return Kernels.TryGetValue(stub, out var k)
                ? k
                : throw new EmulatorException(EmuError.NotFound,
                    $"{call}: 0x{stub:x} is not the host stub of a registered kernel ({Kernels.Count} are registered)");
        }
    }

    /// <summary>Forgets every loaded module (the next launch loads again through the current executor).</summary>
    internal static void ForgetModules()
    {
        lock (Gate)
        {
            foreach (var f in FatBinaries.Values)
            {
                f.Forget();
            }
        }
    }

    /// <summary>Takes in one fat binary registration (also what a test replays by hand).</summary>
    internal static void RegisterFatBinary(nint handle, nint wrapper)
    {
        lock (Gate)
        {
            if (FatBinaries.TryGetValue(handle, out var known) && known.Wrapper == wrapper)
            {
                return;
            }
            FatBinaries[handle] = new RegisteredFatBinary(handle, wrapper, FatBinaries.Count);
        }
    }

    /// <summary>Takes in one kernel registration.</summary>
    internal static void RegisterFunction(nint handle, nint stub, string deviceName)
    {
        lock (Gate)
        {
            if (!FatBinaries.TryGetValue(handle, out var fatbin))
            {
                throw new EmulatorException(EmuError.InvalidValue, $"__cudaRegisterFunction({deviceName}): 0x{handle:x} is not a registered fat binary");
            }
            Kernels[stub] = new RegisteredKernel(fatbin, stub, deviceName);
        }
    }

    // The C names of runtime_callbacks.def, each with its implementation (signature checked by the pointer type).
    private static (string, nint)[] BuildEntries() =>
    [
        ("register_fatbin", (nint)(delegate* unmanaged<nint, nint, int>)&OnRegisterFatbin),
        ("register_function", (nint)(delegate* unmanaged<nint, nint, byte*, int>)&OnRegisterFunction),
        ("register_var", (nint)(delegate* unmanaged<nint, nint, byte*, nuint, int, int>)&OnRegisterVar),
        ("launch", (nint)(delegate* unmanaged<nint, uint*, void**, nuint, nint, int>)&OnLaunch),
        ("func_get_attribute", (nint)(delegate* unmanaged<int*, int, nint, int>)&OnFuncGetAttribute),
        ("func_set_attribute", (nint)(delegate* unmanaged<nint, int, int, int>)&OnFuncSetAttribute),
        ("memcpy", (nint)(delegate* unmanaged<void*, void*, nuint, int, nint, int>)&OnMemcpy),
        ("memset", (nint)(delegate* unmanaged<void*, int, nuint, nint, int>)&OnMemset),
        ("malloc", (nint)(delegate* unmanaged<void**, nuint, int>)&OnMalloc),
        ("free", (nint)(delegate* unmanaged<void*, int>)&OnFree),
        ("device_attribute", (nint)(delegate* unmanaged<int*, int, int, int>)&OnDeviceAttribute),
        ("synchronize", (nint)(delegate* unmanaged<nint, int>)&OnSynchronize),
        ("driver_entry_point", (nint)(delegate* unmanaged<byte*, nint*, int*, int>)&OnDriverEntryPoint),
    ];
}
