using System.Runtime.InteropServices;

namespace Zoetrope.Runtime.Cuda;

/// <summary>
/// The CUDA driver, seen from C#: whether it is there, its version, the GPUs and their
/// attributes. <see cref="Probe"/> never throws; <see cref="Require"/> turns "not there" into a
/// <see cref="ZoetropeDeviceException"/> that says why (no driver library, cuInit failed, no GPU).
/// </summary>
internal static class CudaDriver
{
    private static readonly Lazy<CudaProbe> Cached = new(ProbeOnce, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Looks for the driver and GPUs once per process.</summary>
    public static CudaProbe Probe() => Cached.Value;

    /// <summary>Throws unless a driver and at least one GPU are present.</summary>
    /// <exception cref="ZoetropeDeviceException">The reason no GPU can be used.</exception>
    public static void Require()
    {
        var p = Probe();
        if (!p.Available)
        {
            throw new ZoetropeDeviceException(p.Reason);
        }
    }

    /// <summary>Throws a <see cref="ZoetropeDeviceException"/> naming <paramref name="call"/> and the CUDA error unless <paramref name="result"/> is success.</summary>
    public static void Check(CuResult result, string call)
    {
        if (result != CuResult.Success)
        {
            throw new ZoetropeDeviceException($"{call} failed", ErrorName(result));
        }
    }

    /// <summary>The driver's name for <paramref name="result"/> (CUDA_ERROR_NO_DEVICE...), or the number when unknown.</summary>
    public static unsafe string ErrorName(CuResult result)
    {
        try
        {
            if (CudaDriverApi.cuGetErrorName(result, out byte* name) == CuResult.Success && name != null)
            {
                return Marshal.PtrToStringAnsi((IntPtr)name) ?? $"CUresult {(int)result}";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No driver: fall through to the number.
        }
        return $"CUresult {(int)result}";
    }

    /// <summary>Free and total device memory of the current context's device, in bytes.</summary>
    public static (long Free, long Total) MemoryInfo()
    {
        Check(CudaDriverApi.cuMemGetInfo(out nuint free, out nuint total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    private static CudaProbe ProbeOnce()
    {
        if (!Native.NativeLibraries.TryLoadCudaDriver(out string why))
        {
            return new CudaProbe(false, $"no CUDA driver: {why}", 0, []);
        }
        try
        {
            var init = CudaDriverApi.cuInit(0);
            if (init != CuResult.Success)
            {
                return new CudaProbe(false, $"the CUDA driver is installed but cuInit failed: {ErrorName(init)}", 0, []);
            }
            CudaDriverApi.cuDriverGetVersion(out int version);
            Check(CudaDriverApi.cuDeviceGetCount(out int count), "cuDeviceGetCount");
            if (count == 0)
            {
                return new CudaProbe(false, "the CUDA driver is installed but reports no GPU", version, []);
            }
            var devices = new List<CudaDeviceInfo>();
            for (int i = 0; i < count; i++)
            {
                devices.Add(Describe(i));
            }
            return new CudaProbe(true, string.Empty, version, devices);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or ZoetropeDeviceException)
        {
            return new CudaProbe(false, $"the CUDA driver could not be used: {e.Message}", 0, []);
        }
    }

    private static unsafe CudaDeviceInfo Describe(int ordinal)
    {
        Check(CudaDriverApi.cuDeviceGet(out int dev, ordinal), "cuDeviceGet");
        var name = stackalloc byte[256];
        Check(CudaDriverApi.cuDeviceGetName(name, 256, dev), "cuDeviceGetName");
        Check(CudaDriverApi.cuDeviceTotalMem(out nuint mem, dev), "cuDeviceTotalMem");
        int Attr(CuDeviceAttribute a)
        {
            Check(CudaDriverApi.cuDeviceGetAttribute(out int v, a, dev), $"cuDeviceGetAttribute({a})");
            return v;
        }
        return new CudaDeviceInfo(
            ordinal,
            Marshal.PtrToStringAnsi((IntPtr)name) ?? "unknown",
            Attr(CuDeviceAttribute.ComputeCapabilityMajor),
            Attr(CuDeviceAttribute.ComputeCapabilityMinor),
            Attr(CuDeviceAttribute.MultiprocessorCount),
            (long)mem,
            Attr(CuDeviceAttribute.ClockRate),
            Attr(CuDeviceAttribute.MemoryClockRate),
            Attr(CuDeviceAttribute.GlobalMemoryBusWidth),
            Attr(CuDeviceAttribute.L2CacheSize),
            Attr(CuDeviceAttribute.MaxSharedMemoryPerBlockOptin));
    }
}
