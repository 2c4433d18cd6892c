namespace Zoetrope.Runtime;

/// <summary>
/// Times one span of device work. <see cref="Start"/> and <see cref="Stop"/> enqueue markers
/// (CUDA events on GPU backends) and return at once; <see cref="ElapsedMilliseconds"/> waits for
/// the stop marker. On CPU backends both synchronize and read a stopwatch.
/// </summary>
internal interface IDeviceTimer : IDisposable
{
    /// <summary>Marks the start of the span.</summary>
    void Start();

    /// <summary>Marks the end of the span.</summary>
    void Stop();

    /// <summary>Milliseconds between the markers (waits for the device to reach the stop marker).</summary>
    double ElapsedMilliseconds { get; }
}
