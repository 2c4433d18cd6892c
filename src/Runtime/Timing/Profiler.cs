using Zoetrope.Runtime.Ops;

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
    private readonly List<(string Name, IDeviceTimer Timer, OpCost Cost)> _pending = [];
    private readonly List<(string Name, double Ms, OpCost Cost)> _done = [];
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

    /// <summary>
    /// Starts a span doing <paramref name="cost"/> worth of work (op calls pass theirs, so the
    /// breakdown can say TFLOP/s and GB/s); dispose the result to end it. On GPU backends the span
    /// is also an NVTX range, so Nsight Systems shows the op's name over its kernels.
    /// </summary>
    public IDisposable Span(string name, OpCost cost = default)
    {
        var timer = Backend.CreateTimer();
        bool nvtx = Backend.Kind.NeedsGpu() && Cuda.Nvtx.Push(name);
        timer.Start();
        return new Scope(() =>
        {
            timer.Stop();
            if (nvtx)
            {
                Cuda.Nvtx.Pop();
            }
            lock (_gate)
            {
                _pending.Add((name, timer, cost));
            }
        });
    }

    /// <summary>Waits for all recorded spans and aggregates them by name (largest total first).</summary>
    public IReadOnlyList<ProfileEntry> Collect()
    {
        lock (_gate)
        {
            foreach (var (name, timer, cost) in _pending)
            {
                _done.Add((name, timer.ElapsedMilliseconds, cost));
                timer.Dispose();
            }
            _pending.Clear();
            return _done.GroupBy(d => d.Name)
                .Select(g =>
                {
                    var ms = g.Select(x => x.Ms).ToArray();
                    return new ProfileEntry(g.Key, ms.Length, ms.Sum(), Statistics.Median(ms), ms.Min(), ms.Max(),
                        g.Sum(x => x.Cost.Flops), g.Sum(x => x.Cost.Bytes));
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
            foreach (var (_, timer, _) in _pending)
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
