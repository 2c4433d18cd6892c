using System.Diagnostics;

namespace Zoetrope.Runtime;

/// <summary>A CPU timer: synchronizes the backend at each marker and reads a monotonic clock.</summary>
internal sealed class StopwatchTimer(Backend backend) : IDeviceTimer
{
    private long _start;
    private long _stop;

    /// <inheritdoc />
    public void Start()
    {
        backend.Synchronize();
        _start = Stopwatch.GetTimestamp();
    }

    /// <inheritdoc />
    public void Stop()
    {
        backend.Synchronize();
        _stop = Stopwatch.GetTimestamp();
    }

    /// <inheritdoc />
    public double ElapsedMilliseconds => Stopwatch.GetElapsedTime(_start, _stop).TotalMilliseconds;

    /// <inheritdoc />
    public void Dispose()
    {
    }
}
