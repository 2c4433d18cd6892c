using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Zoetrope.Emulator.Host;

// Streams and events. The device runs each call to completion before returning, so a stream is a
// handle to check and nothing more, and an event records the host time at cuEventRecord: the
// elapsed time between two events is the host time the work between them took.
internal static unsafe partial class EmuDriver
{
    [UnmanagedCallersOnly]
    private static int cuStreamCreate(nint* stream, uint flags)
    {
        try
        {
            *stream = NewStream(stream, flags, 0, nameof(cuStreamCreate));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuStreamCreate));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuStreamCreateWithPriority(nint* stream, uint flags, int priority)
    {
        try
        {
            *stream = NewStream(stream, flags, priority, nameof(cuStreamCreateWithPriority));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuStreamCreateWithPriority));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuStreamDestroy_v2(nint stream)
    {
        try
        {
            HostState.Streams.Remove(stream, nameof(cuStreamDestroy_v2));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuStreamDestroy_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuStreamSynchronize(nint stream)
    {
        try
        {
            HostState.RequireStream(stream, nameof(cuStreamSynchronize));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuStreamSynchronize));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuStreamQuery(nint stream)
    {
        try
        {
            HostState.RequireStream(stream, nameof(cuStreamQuery));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuStreamQuery));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventCreate(nint* evt, uint flags)
    {
        try
        {
            NotNull(evt, "event", nameof(cuEventCreate));
            if ((flags & ~7u) != 0)
            {
                throw new EmulatorException(EmuError.InvalidValue, $"cuEventCreate: flags 0x{flags:x} are not CUevent_flags");
            }
            *evt = HostState.Events.Add(new HostState.Event(flags));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventCreate));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventDestroy_v2(nint evt)
    {
        try
        {
            HostState.Events.Remove(evt, nameof(cuEventDestroy_v2));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventDestroy_v2));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventRecord(nint evt, nint stream)
    {
        try
        {
            var e = HostState.Events.Get(evt, nameof(cuEventRecord));
            HostState.RequireStream(stream, nameof(cuEventRecord));
            e.RecordedAt = Stopwatch.GetTimestamp();
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventRecord));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventQuery(nint evt)
    {
        try
        {
            HostState.Events.Get(evt, nameof(cuEventQuery));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventQuery));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventSynchronize(nint evt)
    {
        try
        {
            HostState.Events.Get(evt, nameof(cuEventSynchronize));
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventSynchronize));
        }
    }

    [UnmanagedCallersOnly]
    private static int cuEventElapsedTime(float* milliseconds, nint start, nint end)
    {
        try
        {
            NotNull(milliseconds, "milliseconds", nameof(cuEventElapsedTime));
            long from = Stamp(start, "start"), to = Stamp(end, "end");
            *milliseconds = (float)((to - from) * 1000.0 / Stopwatch.Frequency);
            return CudaCodes.Success;
        }
        catch (Exception e)
        {
            return HostCalls.FailDriver(e, nameof(cuEventElapsedTime));
        }
    }

    private static nint NewStream(nint* stream, uint flags, int priority, string call)
    {
        NotNull(stream, "stream", call);
        if (flags > 1)
        {
            throw new EmulatorException(EmuError.InvalidValue, $"{call}: flags {flags} are not CU_STREAM_DEFAULT (0) or CU_STREAM_NON_BLOCKING (1)");
        }
        return HostState.Streams.Add(new HostState.Stream(flags, priority));
    }

    private static long Stamp(nint evt, string which)
    {
        var e = HostState.Events.Get(evt, nameof(cuEventElapsedTime));
        if ((e.Flags & HostState.Event.DisableTiming) != 0)
        {
            throw HostException.InvalidHandle($"cuEventElapsedTime: the {which} event was created with CU_EVENT_DISABLE_TIMING");
        }
        return e.RecordedAt
            ?? throw HostException.InvalidHandle($"cuEventElapsedTime: the {which} event was never recorded");
    }
}
