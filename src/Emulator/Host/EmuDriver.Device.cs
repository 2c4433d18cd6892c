using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Text;

namespace Zoetrope.Emulator.Host;

// Initialisation, error names, the device, contexts and peer access. One device (ordinal 0),
// any number of contexts on it; all share the one device memory, as contexts on one GPU share
// its memory (without the isolation, which nothing here relies on).
internal static unsafe partial class EmuDriver
{
    // Names and texts handed to native callers must outlive the call: made once per string.
    private static readonly ConcurrentDictionary<string, nint> Strings = new(StringComparer.Ordinal);

    // A text with a diagnostic appended is per failure; the last one per thread is kept alive
    // until that thread asks again.
    [ThreadStatic]
    private static nint _lastDetailedText;

    private static nint Utf8(string s) => Strings.GetOrAdd(s, static v => Marshal.StringToCoTaskMemUTF8(v));

    [UnmanagedCallersOnly]
    private static int cuInit(uint flags)
    {
        try
        {
            if (flags != 0)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuInit: flags must be 0, got {flags}");
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuInit));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDriverGetVersion(int* version)
    {
        try
        {
            NotNull(version, "version", nameof(cuDriverGetVersion));
            *version = HostState.Device.Properties.DriverVersion;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDriverGetVersion));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuGetErrorName(int error, byte** name)
    {
        try
        {
            NotNull(name, "name", nameof(cuGetErrorName));
            if (!CudaCodes.DriverTexts.TryGetValue(error, out var t))
            {
                *name = null;
                return CudaCodes.InvalidValue;
            }
            *name = (byte*)Utf8(t.Name);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuGetErrorName));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuGetErrorString(int error, byte** text)
    {
        try
        {
            NotNull(text, "text", nameof(cuGetErrorString));
            if (!CudaCodes.DriverTexts.TryGetValue(error, out var t))
            {
                *text = null;
                return CudaCodes.InvalidValue;
            }
            // The failure that just returned this code explains itself here: ILGPU builds its
            // CudaException message from this string and nothing else.
            string? detail = HostCalls.TakeDiagnosticFor(error);
            if (detail is null)
            {
                *text = (byte*)Utf8(t.Text);
                return CudaCodes.Success;
            }
            Marshal.FreeCoTaskMem(_lastDetailedText);
            _lastDetailedText = Marshal.StringToCoTaskMemUTF8($"{t.Text}: {detail}");
            *text = (byte*)_lastDetailedText;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuGetErrorString));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceGet(int* device, int ordinal)
    {
        try
        {
            NotNull(device, "device", nameof(cuDeviceGet));
            RequireDevice(ordinal);
            *device = 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceGet));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceGetCount(int* count)
    {
        try
        {
            NotNull(count, "count", nameof(cuDeviceGetCount));
            *count = 1;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceGetCount));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceGetName(byte* name, int length, int device)
    {
        try
        {
            NotNull(name, "name", nameof(cuDeviceGetName));
            RequireDevice(device);
            if (length <= 0)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuDeviceGetName: length {length}");
            }
            var bytes = Encoding.UTF8.GetBytes(HostState.Device.Properties.Name);
            int n = Math.Min(bytes.Length, length - 1);
            bytes.AsSpan(0, n).CopyTo(new Span<byte>(name, length));
            name[n] = 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceGetName));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceTotalMem_v2(nuint* bytes, int device)
    {
        try
        {
            NotNull(bytes, "bytes", nameof(cuDeviceTotalMem_v2));
            RequireDevice(device);
            *bytes = (nuint)HostState.Device.Memory.Capacity;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceTotalMem_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceGetAttribute(int* value, int attribute, int device)
    {
        try
        {
            NotNull(value, "value", nameof(cuDeviceGetAttribute));
            RequireDevice(device);
            *value = DeviceAttributes.Get(HostState.Device.Properties, attribute);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceGetAttribute));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceCanAccessPeer(int* canAccess, int device, int peer)
    {
        try
        {
            NotNull(canAccess, "canAccess", nameof(cuDeviceCanAccessPeer));
            RequireDevice(device);
            RequireDevice(peer);
            *canAccess = 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceCanAccessPeer));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuDeviceGetP2PAttribute(int* value, int attribute, int source, int destination)
    {
        try
        {
            NotNull(value, "value", nameof(cuDeviceGetP2PAttribute));
            RequireDevice(source);
            RequireDevice(destination);
            *value = 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuDeviceGetP2PAttribute));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxCreate_v2(nint* context, uint flags, int device)
    {
        try
        {
            NotNull(context, "context", nameof(cuCtxCreate_v2));
            RequireDevice(device);
            *context = HostState.Contexts.Add(new HostState.Context(flags));
            HostState.CurrentContext = *context;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxCreate_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxDestroy_v2(nint context)
    {
        try
        {
            HostState.Contexts.Remove(context, nameof(cuCtxDestroy_v2));
            if (HostState.CurrentContext == context)
            {
                HostState.CurrentContext = 0;
            }
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxDestroy_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxSetCurrent(nint context)
    {
        try
        {
            if (context != 0)
            {
                HostState.Contexts.Get(context, nameof(cuCtxSetCurrent));
            }
            HostState.CurrentContext = context;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxSetCurrent));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxGetCurrent(nint* context)
    {
        try
        {
            NotNull(context, "context", nameof(cuCtxGetCurrent));
            *context = HostState.CurrentContext;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxGetCurrent));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxGetDevice(int* device)
    {
        try
        {
            NotNull(device, "device", nameof(cuCtxGetDevice));
            Current(nameof(cuCtxGetDevice));
            *device = 0;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxGetDevice));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxSynchronize()
    {
        try
        {
            // Work is finished when its call returns; only the context must exist.
            Current(nameof(cuCtxSynchronize));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxSynchronize));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxGetCacheConfig(int* config)
    {
        try
        {
            NotNull(config, "config", nameof(cuCtxGetCacheConfig));
            *config = Current(nameof(cuCtxGetCacheConfig)).CacheConfig;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxGetCacheConfig));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxSetCacheConfig(int config)
    {
        try
        {
            if (config is < 0 or > 3)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuCtxSetCacheConfig: {config} is not a CUfunc_cache");
            }
            Current(nameof(cuCtxSetCacheConfig)).CacheConfig = config;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxSetCacheConfig));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxGetSharedMemConfig(int* config)
    {
        try
        {
            NotNull(config, "config", nameof(cuCtxGetSharedMemConfig));
            *config = Current(nameof(cuCtxGetSharedMemConfig)).SharedMemConfig;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxGetSharedMemConfig));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxSetSharedMemConfig(int config)
    {
        try
        {
            if (config is < 0 or > 2)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuCtxSetSharedMemConfig: {config} is not a CUsharedconfig");
            }
            Current(nameof(cuCtxSetSharedMemConfig)).SharedMemConfig = config;
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxSetSharedMemConfig));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxEnablePeerAccess(nint peerContext, uint flags)
    {
        try
        {
            throw HostException.PeerAccessUnsupported("cuCtxEnablePeerAccess: the emulated device has no peer");
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxEnablePeerAccess));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuCtxDisablePeerAccess(nint peerContext)
    {
        try
        {
            throw HostException.PeerAccessUnsupported("cuCtxDisablePeerAccess: the emulated device has no peer");
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuCtxDisablePeerAccess));
        }
    }

    /// <summary>The calling thread's current context.</summary>
    /// <exception cref="HostException">None is current (INVALID_CONTEXT).</exception>
    private static HostState.Context Current(string call)
    {
        nint current = HostState.CurrentContext;
        if (current == 0)
        {
            throw HostException.InvalidContext($"{call}: no context is current on this thread (cuCtxCreate or cuCtxSetCurrent first)");
        }
        return HostState.Contexts.Get(current, call);
    }
}
