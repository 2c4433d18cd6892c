// StreamingSession: block-causal streaming generation (Self-Forcing / LongLive) over a rolling
// KV cache. Each block of F latent frames:
//   claim its cache slots (evicting the frames W back) -> x = noise
//   for each step i: v = model(x, t_i) (its K/V written into its slots, attention over the cache)
//                    x0 = x - s_i v;  x = (1 - s_{i+1}) x0 + s_{i+1} * fresh noise   (s = t / 1000)
//   KvWriteMode.CleanRerun: model(x0, t = 0) once more, leaving clean-context K/V in the cache.
// Noise is drawn per (seed, block, step), so a seed gives the same latents on a backend every time.
// SwitchPrompt (LongLive KV-recache): encode the new prompt, then re-run the frames the cache
// keeps (all but the kept sinks) in one t = 0 forward under the new prompt. Work is serialised:
// a switch called while a block runs waits for it, and lands between two blocks.
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Zoetrope.Engine;

/// <summary>A stream of latent blocks from one model, one prompt at a time.</summary>
public sealed class StreamingSession : IDisposable
{
    private readonly WanModel _model;
    private readonly Dictionary<long, float[]> _clean = [];
    private readonly object _gate = new();
    private readonly long _start = Stopwatch.GetTimestamp();
    private readonly Profiler? _profiler;
    private TextContext _text;

    /// <summary>
    /// Starts a stream of <paramref name="model"/> under prompt <paramref name="text"/> ([L, TextDim]
    /// embedding); the KV pool is allocated here, once. With <paramref name="profile"/>, every op's
    /// time feeds <see cref="StreamMetrics.Ops"/>.
    /// </summary>
    public StreamingSession(WanModel model, Tensor text, StreamOptions? options = null, bool profile = false)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? StreamOptions.LongLive;
        Options.Validate();
        Cache = new KvCache(model.Backend, model.Config, Options, model.Options.Activations, model.RopeTable);
        try
        {
            _text = model.EncodeText(text);
        }
        catch
        {
            Cache.Dispose();
            throw;
        }
        _profiler = profile ? new Profiler(model.Backend) : null;
    }

    /// <summary>Raised after every model forward (tests and debuggers; the arrays are the session's copies).</summary>
    public event Action<StepTrace>? Step;

    /// <summary>The scheduler's settings.</summary>
    public StreamOptions Options { get; }

    /// <summary>The rolling KV cache.</summary>
    public KvCache Cache { get; }

    /// <summary>Latent frames generated so far.</summary>
    public long FramesGenerated { get; private set; }

    /// <summary>Blocks generated so far.</summary>
    public int BlocksGenerated { get; private set; }

    /// <summary>Running metrics.</summary>
    public StreamMetrics Metrics { get; } = new();

    /// <summary>Generates the next block (synchronously, on the calling thread).</summary>
    /// <exception cref="ZoetropeStreamException">Under the absolute RoPE policy, the block would pass the 1024-position table.</exception>
    public LatentBlock GenerateBlock()
    {
        lock (_gate)
        {
            var c = _model.Config;
            int f = Options.BlockFrames;
            long first = FramesGenerated;
            if (Options.Rope == RopePolicy.Absolute && first + f > Attention.Rope.WanRopeTable.Positions)
            {
                throw new ZoetropeStreamException(
                    $"stream: block {BlocksGenerated} (latent frames {first}..{first + f - 1}) passes the {Attention.Rope.WanRopeTable.Positions}-position RoPE table of the absolute policy; use the cache-relative policy for longer streams");
            }
            long t0 = Stopwatch.GetTimestamp();
            using var scope = _profiler?.Activate();
            Cache.Claim(first, f);
            var attention = new CachedAttention(_model, Cache, first);
            int block = BlocksGenerated;
            int n = f * c.FrameLatents;
            var x = new float[n];
            GaussianNoise.For(Options.Seed, block, 0).Fill(x);
            var x0 = new float[n];
            var steps = Options.Timesteps;
            for (int i = 0; i < steps.Count; i++)
            {
                double t = steps[i];
                var v = _model.Forward(x, f, Repeat(t, f), _text, attention);
                Step?.Invoke(new StepTrace(block, i, first, t, (float[])x.Clone(), v));
                double s = t / 1000.0;
                for (int j = 0; j < n; j++)
                {
                    x0[j] = (float)(x[j] - (s * v[j]));
                }
                if (i + 1 < steps.Count)
                {
                    double next = steps[i + 1] / 1000.0;
                    var noise = new float[n];
                    GaussianNoise.For(Options.Seed, block, i + 1).Fill(noise);
                    for (int j = 0; j < n; j++)
                    {
                        x[j] = (float)(((1 - next) * x0[j]) + (next * noise[j]));
                    }
                }
            }
            if (Options.KvWrite == KvWriteMode.CleanRerun)
            {
                var v = _model.Forward(x0, f, Repeat(0, f), _text, attention);
                Step?.Invoke(new StepTrace(block, -1, first, 0, (float[])x0.Clone(), v));
            }
            Remember(first, f, x0);
            FramesGenerated += f;
            BlocksGenerated++;
            _model.Backend.Synchronize();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            int video = (4 * f) - (block == 0 ? 3 : 0);
            Metrics.AddBlock(ms, video, Stopwatch.GetElapsedTime(_start).TotalMilliseconds);
            if (_profiler is not null)
            {
                Metrics.AddOps(_profiler.Collect());
                _profiler.Reset();
            }
            return new LatentBlock(block, first, f, x0, ms, video);
        }
    }

    /// <summary>Generates <paramref name="blocks"/> blocks (or without end when null), each on the thread pool, until cancelled.</summary>
    public async IAsyncEnumerable<LatentBlock> GenerateAsync(int? blocks = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; blocks is null || i < blocks; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return await Task.Run(GenerateBlock, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Switches to prompt <paramref name="text"/>: drops the old prompt's K/V and re-runs the cached
    /// frames (all but the kept sinks) at t = 0 under the new one. Returns the time it took, ms.
    /// A bad embedding throws before anything changes.
    /// </summary>
    public double SwitchPrompt(Tensor text)
    {
        lock (_gate)
        {
            long t0 = Stopwatch.GetTimestamp();
            using var scope = _profiler?.Activate();
            var next = _model.EncodeText(text);
            _text.Dispose();
            _text = next;
            int keptSinks = Options.KeepSinksOnSwitch ? (int)Math.Min(Options.SinkFrames, FramesGenerated) : 0;
            var frames = Cache.Frames.Where(f => f >= keptSinks).ToArray();
            if (frames.Length > 0)
            {
                var latents = LatentFrames.Concat(_model.Config, frames.Select(f => _clean[f]).ToArray());
                using var recache = new RecacheAttention(_model, Cache, frames, keptSinks, Options.BlockFrames);
                _model.Forward(latents, frames.Length, Repeat(0, frames.Length), _text, recache);
                _model.ReleaseScratch(Options.BlockFrames);
            }
            _model.Backend.Synchronize();
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            Metrics.AddSwitch(ms);
            if (_profiler is not null)
            {
                Metrics.AddOps(_profiler.Collect());
                _profiler.Reset();
            }
            return ms;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _text.Dispose();
            Cache.Dispose();
            _profiler?.Dispose();
        }
    }

    private static double[] Repeat(double t, int n) => Enumerable.Repeat(t, n).ToArray();

    // Keeps the clean latents of the frames the cache holds (a recache re-runs them), and only those.
    private void Remember(long first, int frames, float[] block)
    {
        for (int j = 0; j < frames; j++)
        {
            _clean[first + j] = LatentFrames.Slice(_model.Config, block, frames, j, 1);
        }
        var keep = Cache.Frames.ToHashSet();
        foreach (var f in _clean.Keys.Where(f => !keep.Contains(f)).ToArray())
        {
            _clean.Remove(f);
        }
    }
}
