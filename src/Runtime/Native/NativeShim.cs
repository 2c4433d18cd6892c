namespace Zoetrope.Runtime.Native;

/// <summary>
/// The library behind the generated bindings (<see cref="ZtNative"/>, library name
/// "zoetrope_native"): libzoetrope_native.so, the hand-written CUDA kernels of the <c>cuda</c>
/// backend, or, in a process that uses the emulated CUDA device (<see cref="EmulatedCuda"/>),
/// libzoetrope_native_emu.so, the same kernels as PTX for <c>cuda-emu</c>. Loaded lazily; when
/// absent, <see cref="TryLoad"/> says where it looked and how to build it. Search order
/// (<see cref="NativeSearch"/>): the environment variable ($ZOETROPE_NATIVE, $ZOETROPE_NATIVE_EMU;
/// a file or a folder), the host's native search folders and runtimes/&lt;rid&gt;/native/ under the
/// application (a package's native asset, no variable needed), the application folder, ./build,
/// (for the emulated one, build/ above the application), and the system's library path.
/// </summary>
public static class NativeShim
{
    /// <summary>The file name of the shim on this OS.</summary>
    public static readonly string FileName = OperatingSystem.IsWindows() ? "zoetrope_native.dll" : "libzoetrope_native.so";

    /// <summary>The file name of the emulated device's build of the shim.</summary>
    internal static readonly string EmulatedFileName = OperatingSystem.IsWindows() ? "zoetrope_native_emu.dll" : "libzoetrope_native_emu.so";

    private static readonly NativeLibraryFile Real = new(FileName, "ZOETROPE_NATIVE", null, false,
        "native shim not built", "build it on a machine with nvcc: cmake -S . -B build && cmake --build build");

    private static readonly NativeLibraryFile Emulated = new(EmulatedFileName, "ZOETROPE_NATIVE_EMU", "ZOETROPE_NATIVE", true,
        "the emulated device's kernels are not built",
        "build them on a machine with nvcc (no GPU needed): cmake -S . -B build && cmake --build build --target zoetrope_native_emu");

    // The library of this process's CUDA: the emulated build once the process has chosen it.
    private static NativeLibraryFile Active => EmulatedCuda.Mode == CudaProcessMode.Emulated ? Emulated : Real;

    /// <summary>The loaded library's handle (zero when not loaded).</summary>
    internal static IntPtr Handle => Active.Handle;

    /// <summary>The path the shim was loaded from, or null.</summary>
    public static string? LoadedFrom => Active.LoadedFrom;

    /// <summary>True when the shim is loaded.</summary>
    public static bool IsLoaded => TryLoad(out _);

    /// <summary>Loads the shim once; false with the reason (where it looked) when it is not found.</summary>
    public static bool TryLoad(out string why) => Active.TryLoad(out why);

    /// <summary>Loads libzoetrope_native.so (the <c>cuda</c> backend's), whatever the process uses.</summary>
    internal static bool TryLoadReal(out string why) => Real.TryLoad(out why);

    /// <summary>Loads libzoetrope_native_emu.so (the <c>cuda-emu</c> backend's), whatever the process uses.</summary>
    internal static bool TryLoadEmulated(out string why) => Emulated.TryLoad(out why);

    internal static IntPtr RealHandle => Real.Handle;

    internal static IntPtr EmulatedHandle => Emulated.Handle;

    /// <summary>True when the loaded shim exports <paramref name="function"/> (CUTLASS and sm_90a kernels exist only where they were built).</summary>
    internal static bool HasExport(string function) => Active.HasExport(function);

    /// <summary>Throws a <see cref="NotSupportedException"/> unless the shim exports <paramref name="function"/>.</summary>
    internal static void RequireExport(string function)
    {
        Require();
        if (!HasExport(function))
        {
            throw new NotSupportedException(Active == Emulated
                ? $"{EmulatedFileName} ({LoadedFrom}) has no {function}: the emulated device's build leaves out the CUTLASS and sm_90a kernels"
                : $"{FileName} ({LoadedFrom}) has no {function}: it was built without the CUTLASS or sm_90a kernels that provide it (see CMake's output)");
        }
    }

    /// <summary>Throws unless the shim is loaded.</summary>
    /// <exception cref="ZoetropeDeviceException">The shim was not found.</exception>
    internal static void Require()
    {
        if (!TryLoad(out var why))
        {
            throw new ZoetropeDeviceException(why);
        }
    }

    /// <summary>A one-line description: version and path, or why it is absent.</summary>
    public static string Describe()
    {
        if (!TryLoad(out var why))
        {
            return why;
        }
        return $"{Active.FileName} v{ZtNative.Version()} ({LoadedFrom})";
    }
}
