using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// How every driver and runtime callback ends when it fails: the exception becomes the call's
/// CUresult or cudaError_t, and its message (which names the call, and for a kernel fault the
/// kernel, CTA, thread, instruction and PTX line) goes to <see cref="EmuDevice.LastDiagnostic"/>,
/// where the .NET side that made the call picks it up. Nothing is thrown across a native frame.
/// </summary>
internal static class HostCalls
{
    // The CUresult whose diagnostic is pending, so cuGetErrorString(that code) can carry it.
    private static int _pendingDriverCode;

    /// <summary>Records <paramref name="e"/> for <paramref name="call"/> and returns its CUresult.</summary>
    public static int FailDriver(Exception e, string call)
    {
        int code = Codes(e).Driver;
        Record(e, call);
        Volatile.Write(ref _pendingDriverCode, code);
        return code;
    }

    /// <summary>Records <paramref name="e"/> for <paramref name="call"/> and returns its cudaError_t.</summary>
    public static int FailRuntime(Exception e, string call)
    {
        Record(e, call);
        Volatile.Write(ref _pendingDriverCode, 0);
        return Codes(e).Runtime;
    }

    /// <summary>
    /// The pending diagnostic when it belongs to a driver call that failed with
    /// <paramref name="driverCode"/> (cleared then), or null.
    /// </summary>
    public static string? TakeDiagnosticFor(int driverCode)
    {
        if (driverCode == 0 || Interlocked.CompareExchange(ref _pendingDriverCode, 0, driverCode) != driverCode)
        {
            return null;
        }
        return EmuDevice.Shared.TakeLastDiagnostic();
    }

    /// <summary>The CUresult and cudaError_t for an exception thrown inside a call.</summary>
    public static (int Driver, int Runtime) Codes(Exception e) => e switch
    {
        EmulatorException emu => (CudaCodes.Driver(emu.Error), CudaCodes.Runtime(emu.Error)),
        HostException host => (host.DriverCode, host.RuntimeCode),
        OutOfMemoryException => (CudaCodes.OutOfMemory, CudaCodes.OutOfMemory),
        _ => (CudaCodes.Unknown, CudaCodes.Unknown),
    };

    private static void Record(Exception e, string call)
    {
        // The device's own failures explain themselves; anything else is a bug in this layer or
        // below, so its type and stack go with it.
        string detail = e is EmulatorException or HostException ? e.Message : e.ToString();
        EmuDevice.Shared.LastDiagnostic = $"{call}: {detail}";
    }
}
