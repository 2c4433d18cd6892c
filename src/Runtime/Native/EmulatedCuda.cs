using System.Reflection;
using System.Runtime.InteropServices;
using Zoetrope.Emulator.Device;
using Zoetrope.Emulator.Host;

namespace Zoetrope.Runtime.Native;

/// <summary>
/// The emulated CUDA device as the backends reach it, and the process's choice between it and
/// the real driver (<see cref="Mode"/>).
/// <list type="bullet">
/// <item><c>ilgpu-emu</c>: libzoetrope_cuda_emu.so, the emulated driver, is handed to ILGPU in
/// place of libcuda.so.1 (a resolver on ILGPU's assembly) with the C# driver
/// (<see cref="EmuDriver"/>) installed in it; ILGPU's CUDA accelerator then runs on the emulated
/// device through its own launch path.</item>
/// <item><c>cuda-emu</c>: the same, for memory and streams, plus libzoetrope_native_emu.so, the
/// hand-written kernels as PTX on an emulated CUDA runtime, under the library name
/// "zoetrope_native" (<see cref="NativeLibraries"/>), with the runtime callbacks
/// (<see cref="EmuRuntime"/>) installed.</item>
/// </list>
/// Our own driver binding (<see cref="Cuda.CudaDriverApi"/>) always means the real driver, so
/// <c>zoe info</c> still describes the machine's GPUs; the emulated backends time with a stopwatch.
/// </summary>
internal static class EmulatedCuda
{
    /// <summary>The emulated driver's file name on this OS.</summary>
    public static readonly string DriverFileName = OperatingSystem.IsWindows() ? "zoetrope_cuda_emu.dll" : "libzoetrope_cuda_emu.so";

    private static readonly NativeLibraryFile Driver = new(DriverFileName, "ZOETROPE_CUDA_EMU", "ZOETROPE_NATIVE", true,
        "the emulated CUDA driver is not built",
        "build it with any C++ compiler (no CUDA needed): cmake -S . -B build && cmake --build build --target zoetrope_cuda_emu "
        + "(dotnet build also compiles it when c++ is on the PATH)");

    private static readonly object Gate = new();
    private static int _mode;
    private static bool _driverInstalled;
    private static bool _runtimeInstalled;
    private static bool _ilgpuResolver;

    /// <summary>What this process has committed to.</summary>
    public static CudaProcessMode Mode => (CudaProcessMode)Volatile.Read(ref _mode);

    /// <summary>Where the emulated driver was loaded from, or null.</summary>
    public static string? DriverLoadedFrom => Driver.LoadedFrom;

    /// <summary>Why a backend of the other mode cannot open once <paramref name="current"/> is chosen.</summary>
    public static string ConflictReason(CudaProcessMode current) => current == CudaProcessMode.Emulated
        ? "this process uses the emulated CUDA device (ilgpu-emu or cuda-emu was opened first); the GPU backends need a process of their own"
        : "this process uses the real CUDA driver (ilgpu-cuda or cuda, or the native shim, was used first); the emulated backends need a process of their own";

    /// <summary>Commits the process to <paramref name="mode"/> unless it chose the other one; false with the reason then.</summary>
    public static bool TryClaim(CudaProcessMode mode, out string why)
    {
        int previous = Interlocked.CompareExchange(ref _mode, (int)mode, (int)CudaProcessMode.Undecided);
        if (previous == (int)CudaProcessMode.Undecided || previous == (int)mode)
        {
            why = string.Empty;
            return true;
        }
        why = ConflictReason((CudaProcessMode)previous);
        return false;
    }

    /// <summary>Why <c>ilgpu-emu</c> cannot open here (empty when it can). Loads the driver library; commits nothing.</summary>
    public static string ProbeDriver()
    {
        var reasons = new List<string>();
        if (Mode == CudaProcessMode.Real)
        {
            reasons.Add(ConflictReason(CudaProcessMode.Real));
        }
        if (!Driver.TryLoad(out var why))
        {
            reasons.Add(why);
        }
        return string.Join("; and ", reasons);
    }

    /// <summary>
    /// Commits the process to the emulated device, installs the C# driver into the emulated
    /// driver library and points ILGPU's "cuda" imports at it. Idempotent.
    /// </summary>
    /// <exception cref="ZoetropeDeviceException">The library is missing or of another version, or the process uses the real driver.</exception>
    public static void OpenDriver()
    {
        lock (Gate)
        {
            if (!Driver.TryLoad(out var why) || !TryClaim(CudaProcessMode.Emulated, out why))
            {
                throw new ZoetropeDeviceException(why);
            }
            if (!_driverInstalled)
            {
                try
                {
                    EmuDriver.Install(Driver.Handle);
                }
                catch (InvalidOperationException e)
                {
                    throw new ZoetropeDeviceException($"{Driver.LoadedFrom}: {e.Message}", inner: e);
                }
                _driverInstalled = true;
            }
            if (!_ilgpuResolver)
            {
                try
                {
                    NativeLibrary.SetDllImportResolver(typeof(ILGPU.Context).Assembly, ResolveForIlgpu);
                }
                catch (InvalidOperationException e)
                {
                    throw new ZoetropeDeviceException(
                        "ILGPU's assembly already has a native library resolver (ILGPU installs its own under WSL), so its CUDA imports cannot be pointed at the emulated driver",
                        inner: e);
                }
                _ilgpuResolver = true;
            }
        }
    }

    /// <summary>
    /// Loads libzoetrope_native_emu.so and installs the emulated runtime's callbacks, which takes
    /// in the kernels its host code registered. Call after <see cref="OpenDriver"/>. Idempotent.
    /// </summary>
    /// <exception cref="ZoetropeDeviceException">The library is missing, of another version, or holds PTX the device cannot take.</exception>
    public static void OpenNative()
    {
        lock (Gate)
        {
            if (!NativeShim.TryLoadEmulated(out var why))
            {
                throw new ZoetropeDeviceException(why);
            }
            if (!_runtimeInstalled)
            {
                try
                {
                    EmuRuntime.Install(NativeShim.EmulatedHandle);
                }
                catch (InvalidOperationException e)
                {
                    throw new ZoetropeDeviceException($"{NativeShim.LoadedFrom}: {e.Message}", inner: e);
                }
                _runtimeInstalled = true;
            }
        }
    }

    /// <summary>
    /// The emulated device's account of the last failure (kernel, CTA, thread, instruction, PTX
    /// line for a kernel fault), taken so it is reported once; null when there is none or the
    /// process does not use the emulated device.
    /// </summary>
    public static string? TakeDiagnostic() => Mode == CudaProcessMode.Emulated ? EmuDevice.Shared.TakeLastDiagnostic() : null;

    private static IntPtr ResolveForIlgpu(string name, Assembly assembly, DllImportSearchPath? path) =>
        name is "cuda" or "nvcuda" && Mode == CudaProcessMode.Emulated ? Driver.Handle : IntPtr.Zero;
}
