using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// The objects the emulated driver and runtime hand out, shared by both (the cuda-emu backend's
/// native kernels receive stream handles ILGPU got from the driver). Streams and events are
/// synchronous: a stream is only a handle to check, an event a host timestamp.
/// </summary>
internal static class HostState
{
    private static IEmuExecutor _executor = new DeviceExecutor(EmuDevice.Shared);

    /// <summary>The device every call works on.</summary>
    public static EmuDevice Device => EmuDevice.Shared;

    /// <summary>Loads and launches kernels: the device, or a test's fake.</summary>
    public static IEmuExecutor Executor
    {
        get => Volatile.Read(ref _executor);
        set => Volatile.Write(ref _executor, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>Driver contexts (cuCtxCreate): all on the one device.</summary>
    public static HandleTable<Context> Contexts { get; } = new("context", 0x7a1);

    /// <summary>Streams (cuStreamCreate).</summary>
    public static HandleTable<Stream> Streams { get; } = new("stream", 0x7a2);

    /// <summary>Events (cuEventCreate).</summary>
    public static HandleTable<Event> Events { get; } = new("event", 0x7a3);

    /// <summary>Modules loaded through the driver (cuModuleLoadData).</summary>
    public static HandleTable<EmuModule> Modules { get; } = new("module", 0x7a4);

    /// <summary>Kernels looked up through the driver (cuModuleGetFunction).</summary>
    public static HandleTable<EmuFunction> Functions { get; } = new("function", 0x7a5);

    /// <summary>The calling thread's current context (cuCtxSetCurrent), or 0.</summary>
    [ThreadStatic]
    private static nint _current;

    /// <summary>The calling thread's current context.</summary>
    public static nint CurrentContext
    {
        get => _current;
        set => _current = value;
    }

    /// <summary>
    /// Checks a stream argument: the legacy default stream (0), CU_STREAM_LEGACY (1),
    /// CU_STREAM_PER_THREAD (2) or a live stream.
    /// </summary>
    /// <exception cref="HostException">A destroyed or made-up stream (INVALID_HANDLE).</exception>
    public static void RequireStream(nint stream, string call)
    {
        if (stream is 0 or 1 or 2)
        {
            return;
        }
        Streams.Get(stream, call);
    }

    /// <summary>A context: its flags (kept for cuCtxGetFlags-like queries) and configuration.</summary>
    internal sealed class Context(uint flags)
    {
        public uint Flags { get; } = flags;
        public int CacheConfig { get; set; }
        public int SharedMemConfig { get; set; }
    }

    /// <summary>A stream: its creation flags and priority.</summary>
    internal sealed record Stream(uint Flags, int Priority);

    /// <summary>An event: its flags and the host time of its last record, if any.</summary>
    internal sealed class Event(uint flags)
    {
        /// <summary>CU_EVENT_DISABLE_TIMING.</summary>
        public const uint DisableTiming = 2;

        public uint Flags { get; } = flags;

        /// <summary>Stopwatch ticks at the last cuEventRecord; null before the first.</summary>
        public long? RecordedAt { get; set; }
    }
}
