using System.Reflection;
using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Native;

/// <summary>
/// Maps the two native library names this assembly imports to files: "cuda" to the driver
/// (libcuda.so.1 / nvcuda.dll; .NET alone would try "libcuda.so", which many installs lack) and
/// "zoetrope_native" to the shim built by CMake: libzoetrope_native.so, or in a process that uses
/// the emulated CUDA device, libzoetrope_native_emu.so (<see cref="EmulatedCuda"/>). .NET binds
/// each import once, so binding the real shim commits the process to the real driver. Installed
/// once, before the first call, by the static constructors of the classes that import them.
/// </summary>
internal static class NativeLibraries
{
    /// <summary>The library name the CUDA driver imports use.</summary>
    public const string CudaDriver = "cuda";

    /// <summary>The library name the generated shim imports use.</summary>
    public const string Shim = "zoetrope_native";

    private static readonly object Gate = new();
    private static bool _installed;
    private static IntPtr _cuda;
    private static string? _cudaWhy;

    /// <summary>Installs the resolver for this assembly (idempotent).</summary>
    public static void EnsureResolver()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
            _installed = true;
        }
    }

    /// <summary>Loads the CUDA driver library; false with the reason when it is not installed.</summary>
    public static bool TryLoadCudaDriver(out string why)
    {
        EnsureResolver();
        lock (Gate)
        {
            if (_cuda == IntPtr.Zero && _cudaWhy is null)
            {
                string[] candidates = OperatingSystem.IsWindows() ? ["nvcuda.dll"] : ["libcuda.so.1", "libcuda.so"];
                foreach (var name in candidates)
                {
                    if (NativeLibrary.TryLoad(name, out _cuda))
                    {
                        break;
                    }
                }
                if (_cuda == IntPtr.Zero)
                {
                    _cudaWhy = $"{string.Join(" / ", candidates)} not found (is the NVIDIA driver installed?)";
                }
            }
            why = _cudaWhy ?? string.Empty;
            return _cuda != IntPtr.Zero;
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name == CudaDriver)
        {
            return TryLoadCudaDriver(out _) ? _cuda : IntPtr.Zero;
        }
        if (name == Shim)
        {
            if (EmulatedCuda.Mode != CudaProcessMode.Emulated && NativeShim.TryLoadReal(out _) && EmulatedCuda.TryClaim(CudaProcessMode.Real, out _))
            {
                return NativeShim.RealHandle;
            }
            return EmulatedCuda.Mode == CudaProcessMode.Emulated && NativeShim.TryLoadEmulated(out _) ? NativeShim.EmulatedHandle : IntPtr.Zero;
        }
        return IntPtr.Zero;
    }
}
