namespace Zoetrope.Runtime;

/// <summary>
/// Records named spans of device work: each span is a pair of device markers (CUDA events on
/// GPU backends, a synchronize plus stopwatch on CPU ones), read back only in
/// <see cref="Collect"/>, so recording does not stall a GPU. While a profiler is
/// <see cref="Activate">active</see> on the current async flow, every op call
/// (<c>OpInfo.Run</c>) records a span under its op name: a per-kernel breakdown for free.
/// </summary>
public sealed class Profiler : IDisposable
{
    private static readonly AsyncLocal<Profiler?> CurrentProfiler = new();
    private readonly List<(string Name, IDeviceTimer Timer)> _pending = [];
    private readonly List<(string Name, double Ms)> _done = [];
    private readonly object _gate = new();

    /// <summary>Creates a profiler for work queued on <paramref name="backend"/>.</summary>
    public Profiler(Backend backend)
    {
        Backend = backend ?? throw new ArgumentNullException(nameof(backend));
    }

    /// <summary>The active profiler of the current async flow, or null.</summary>
    public static Profiler? Current => CurrentProfiler.Value;

    /// <summary>The backend whose stream spans are recorded on.</summary>
    public Backend Backend { get; }

    /// <summary>Makes this the current profiler until the returned scope is disposed.</summary>
    public IDisposable Activate()
    {
        var previous = CurrentProfiler.Value;
        CurrentProfiler.Value = this;
        return new Scope(() => CurrentProfiler.Value = previous);
    }

    /// <summary>Starts a span; dispose the result to end it.</summary>
    public IDisposable Span(string name)
    {
        var timer = Backend.CreateTimer();
        timer.Start();
        return new Scope(() =>
        {
            timer.Stop();
            lock (_gate)
            {
                _pending.Add((name, timer));
            }
        });
    }

    /// <summary>Waits for all recorded spans and aggregates them by name (largest total first).</summary>
    public IReadOnlyList<ProfileEntry> Collect()
    {
        lock (_gate)
        {
            foreach (var (name, timer) in _pending)
            {
                _done.Add((name, timer.ElapsedMilliseconds));
                timer.Dispose();
            }
            _pending.Clear();
            return _done.GroupBy(d => d.Name)
                .Select(g =>
                {
                    var ms = g.Select(x => x.Ms).ToArray();
                    return new ProfileEntry(g.Key, ms.Length, ms.Sum(), Statistics.Median(ms), ms.Min(), ms.Max());
                })
                .OrderByDescending(e => e.TotalMs)
                .ToArray();
        }
    }

    /// <summary>Forgets all spans.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            foreach (var (_, timer) in _pending)
            {
                timer.Dispose();
            }
            _pending.Clear();
            _done.Clear();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Reset();

    private sealed class Scope(Action onDispose) : IDisposable
    {
        private Action? _onDispose = onDispose;

        public void Dispose()
        {
            _onDispose?.Invoke();
            _onDispose = null;
        }
    }
}
