// StreamingSession: block-causal streaming generation (Self-Forcing / LongLive) over a rolling
// KV cache. Each block of F latent frames:
//   claim its cache slots (evicting the frames W back) -> x = noise
//   for each step i: v = model(x, t_i) (its K/V written into its slots, attention over the cache)
//                    x0 = x - s_i v;  x = (1 - s_{i+1}) x0 + s_{i+1} * fresh noise   (s = t / 1000)
//   KvWriteMode.CleanRerun: model(x0, t = 0) once more, leaving clean-context K/V in the cache.
// Noise is draw (block, step) of the session's noise source: by default computed from
// (seed, block, step), so a seed gives the same latents on a backend every time; or read from a
// table (.npy) to reproduce another implementation. The update equations live in FlowSampler.
// SwitchPrompt (LongLive KV-recache): encode the new prompt, then re-run the frames the cache
// keeps (all but the kept sinks, StreamOptions.SwitchSinks) in one t = 0 forward under the new
// prompt, unmasked as LongLive 1.0 does or block-causal (StreamOptions.Recache). LongLive re-runs
// min(12, generated) frames and write-protects the sink slots: the frames before the window that
// it re-runs only to discard (their K/V land in no slot and no kept query reads them) are not
// re-run here, which leaves the same K/V. Work is serialised: a switch called while a block runs
// waits for it, and lands between two blocks.
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
    private readonly FlowSchedule? _schedule;
    private readonly IReadOnlyList<double> _steps;
    private TextContext _text;

    /// <summary>
    /// Starts a stream of <paramref name="model"/> under prompt <paramref name="text"/> ([L, TextDim]
    /// embedding); the KV pool is allocated here, once. With <paramref name="profile"/>, every op's
    /// time feeds <see cref="StreamMetrics.Ops"/>. The Gaussian draws come from <paramref name="noise"/>
    /// (draw (block, step): the block's initial noise at step 0, the re-noise before step i otherwise),
    /// or from <see cref="StreamOptions.Seed"/> when it is null.
    /// </summary>
    /// <exception cref="ArgumentException">A noise source whose draws are not one block long, or hold fewer steps than the timesteps.</exception>
    public StreamingSession(WanModel model, Tensor text, StreamOptions? options = null, bool profile = false, INoiseSource? noise = null)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? StreamOptions.LongLive;
        Options.Validate();
        Noise = noise ?? new SeededNoise(Options.Seed);
        int drawLength = Options.BlockFrames * model.Config.FrameLatents;
        if (Noise.DrawLength is int length && length != drawLength)
        {
            throw new ArgumentException($"stream: noise {Noise.Description} has draws of {length} floats; a {Options.BlockFrames}-frame block of '{model.Config.Name}' needs {drawLength}", nameof(noise));
        }
        if (!Noise.Has(0, Options.Timesteps.Count - 1))
        {
            throw new ArgumentException($"stream: noise {Noise.Description} holds fewer than the {Options.Timesteps.Count} steps' draws of block 0", nameof(noise));
        }
        // The reference numerics feed the model the pipelines' fp32 grid timesteps and use their sampler arithmetic.
        _schedule = model.Options.Match == MatchMode.Reference ? FlowSchedule.Torch(Options.Shift) : null;
        _steps = _schedule?.ModelTimesteps(Options.Timesteps) ?? Options.Timesteps;
        Cache = new KvCache(model.Backend, model.Config, Options, model.Options.Activations, model.RopeTable, model.Options.KvFormat);
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

    /// <summary>Where the initial and re-noise draws come from (the seed of <see cref="Options"/> unless one was given).</summary>
    public INoiseSource Noise { get; }

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
            if (!Noise.Has(BlocksGenerated, Options.Timesteps.Count - 1))
            {
                throw new ZoetropeStreamException(
                    $"stream: block {BlocksGenerated} needs noise draws (block {BlocksGenerated}, steps 0..{Options.Timesteps.Count - 1}); {Noise.Description} does not hold them");
            }
            long t0 = Stopwatch.GetTimestamp();
            using var scope = _profiler?.Activate();
            Cache.Claim(first, f);
            var attention = new CachedAttention(_model, Cache, first);
            int block = BlocksGenerated;
            int n = f * c.FrameLatents;
            var x = new float[n];
            Noise.Fill(block, 0, x);
            var steps = _steps;
            var x0 = FlowSampler.Run(steps, x,
                (i, input) =>
                {
                    var v = _model.Forward(input, f, Repeat(steps[i], f), _text, attention);
                    Step?.Invoke(new StepTrace(block, i, first, steps[i], (float[])input.Clone(), v));
                    return v;
                },
                (i, noise) => Noise.Fill(block, i, noise), schedule: _schedule);
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
    /// Sink frames a prompt switch now would keep (<see cref="StreamOptions.SwitchSinks"/>): the rest
    /// of the cached frames are re-run.
    /// </summary>
    public int SinksKeptOnSwitch
    {
        get
        {
            int sinks = (int)Math.Min(Options.SinkFrames, FramesGenerated);
            return Options.SwitchSinks switch
            {
                SinkSwitch.Keep => sinks,
                SinkSwitch.Recompute => 0,
                // LongLive: its re-run starts at frame 0 (and rewrites the sinks) until the cache has evicted a frame.
                _ => FramesGenerated > Options.CacheFrames ? sinks : 0,
            };
        }
    }

    /// <summary>
    /// Switches to prompt <paramref name="text"/>: drops the old prompt's K/V and re-runs the cached
    /// frames (all but the kept sinks, <see cref="SinksKeptOnSwitch"/>) at t = 0 under the new one,
    /// under <see cref="StreamOptions.Recache"/>'s mask. Returns the time it took, ms.
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
            int keptSinks = SinksKeptOnSwitch;
            var frames = Cache.Frames.Where(f => f >= keptSinks).ToArray();
            if (frames.Length > 0)
            {
                if (keptSinks == 0)
                {
                    Cache.UnfixMeans(); // every cached frame is re-run: the INT8 cache's smoothing vectors are fixed anew
                }
                var latents = LatentFrames.Concat(_model.Config, frames.Select(f => _clean[f]).ToArray());
                using var recache = new RecacheAttention(_model, Cache, frames, keptSinks, Options.BlockFrames, Options.Recache);
                _model.Forward(latents, frames.Length, Repeat(0, frames.Length), _text, recache);
                _model.ReleaseScratch(Options.BlockFrames);
                if (Cache.Format == KvFormat.Int8)
                {
                    Cache.FixMeans();
                }
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
