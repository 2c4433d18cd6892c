using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Cuda;

/// <summary>
/// The CUDA driver API entry points this project needs and ILGPU does not expose (attributes,
/// driver version, events). Declared with <see cref="LibraryImportAttribute"/>, so the .NET
/// interop source generator writes the marshalling; the library name "cuda" is mapped to
/// libcuda.so.1 (nvcuda.dll on Windows) by <see cref="Native.NativeLibraries"/>, since .NET
/// would otherwise look for "libcuda.so", which driver installs do not always provide.
/// </summary>
internal static unsafe partial class CudaDriverApi
{
    private const string Lib = Native.NativeLibraries.CudaDriver;

    static CudaDriverApi() => Native.NativeLibraries.EnsureResolver();

    [LibraryImport(Lib)]
    internal static partial CuResult cuInit(uint flags);

    [LibraryImport(Lib)]
    internal static partial CuResult cuDriverGetVersion(out int version);

    [LibraryImport(Lib)]
    internal static partial CuResult cuDeviceGetCount(out int count);

    [LibraryImport(Lib)]
    internal static partial CuResult cuDeviceGet(out int device, int ordinal);

    [LibraryImport(Lib)]
    internal static partial CuResult cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Lib)]
    internal static partial CuResult cuDeviceGetAttribute(out int value, CuDeviceAttribute attribute, int device);

    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")]
    internal static partial CuResult cuDeviceTotalMem(out nuint bytes, int device);

    [LibraryImport(Lib)]
    internal static partial CuResult cuGetErrorName(CuResult error, out byte* name);

    [LibraryImport(Lib)]
    internal static partial CuResult cuEventCreate(out IntPtr evt, uint flags);

    [LibraryImport(Lib)]
    internal static partial CuResult cuEventRecord(IntPtr evt, IntPtr stream);

    [LibraryImport(Lib)]
    internal static partial CuResult cuEventSynchronize(IntPtr evt);

    [LibraryImport(Lib)]
    internal static partial CuResult cuEventElapsedTime(out float milliseconds, IntPtr start, IntPtr end);

    [LibraryImport(Lib, EntryPoint = "cuEventDestroy_v2")]
    internal static partial CuResult cuEventDestroy(IntPtr evt);

    [LibraryImport(Lib, EntryPoint = "cuMemGetInfo_v2")]
    internal static partial CuResult cuMemGetInfo(out nuint free, out nuint total);
}
