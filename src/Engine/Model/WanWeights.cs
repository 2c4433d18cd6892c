// WanWeights: a DiT's parameters on the host, by checkpoint key. Three ways in: seeded random
// values for any preset (benchmarks, tests), a Wan / Self-Forcing checkpoint, safetensors or
// PyTorch .pt/.pth (bf16, f16 or f32; one copy of the model chosen by name from a training
// checkpoint's {generator, generator_ema, critic}, see CheckpointSelection; a nesting prefix such
// as `model.` found from the anchor key; a .pt's nested dicts are read as '.'-joined keys; a LoRA
// merged at load, see LoraMerge), or tensors the caller
// already holds. Every key is checked against WanWeightNames before anything runs: missing,
// unexpected and mis-shaped keys are reported together, by name.
using Zoetrope.Runtime.IO;

namespace Zoetrope.Engine;

/// <summary>A Wan DiT's parameters (host tensors, f32/f16/bf16), keyed by checkpoint name.</summary>
public sealed class WanWeights : IDisposable
{
    // Elements drawn per chunk: the f64 buffer and its packed copy stay under the large-object
    // threshold, so they die young in gen0 instead of piling up on the large-object heap.
    private const int DrawChunk = 8192;

    private readonly Dictionary<string, Tensor> _tensors;

    private WanWeights(DiTConfig config, Dictionary<string, Tensor> tensors)
    {
        Config = config;
        _tensors = tensors;
    }

    /// <summary>The model these weights fit.</summary>
    public DiTConfig Config { get; }

    /// <summary>The parameter <paramref name="name"/>.</summary>
    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"weights of '{Config.Name}': no parameter '{name}'");

    /// <summary>The parameter <paramref name="name"/> when present (the optional ones of <see cref="WanWeightNames.Optional"/> may be absent).</summary>
    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Tensor? tensor) => _tensors.TryGetValue(name, out tensor);

    /// <summary>Keys, in checkpoint order: the required ones, then the optional ones present.</summary>
    public IEnumerable<string> Names =>
        WanWeightNames.Expected(Config).Select(e => e.Name).Concat(WanWeightNames.Optional(Config).Select(e => e.Name).Where(_tensors.ContainsKey));

    /// <summary>The optional parameters these weights hold (SLA's proj_l).</summary>
    public IReadOnlyList<string> OptionalPresent => WanWeightNames.Optional(Config).Select(e => e.Name).Where(_tensors.ContainsKey).ToArray();

    /// <summary>
    /// Seeded random weights: linear weights ~ N(0, 1/fan_in), biases ~ N(0, 0.02), norm weights
    /// ~ N(1, 0.1), modulation ~ N(0, 0.1). Each tensor has its own stream (seed, key), so the values
    /// do not depend on the order or the thread that draws them. <paramref name="progress"/> hears
    /// the fraction of parameters drawn (from worker threads).
    /// </summary>
    public static WanWeights Random(DiTConfig config, ulong seed = 1, DType dtype = DType.F32, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var expected = WanWeightNames.Expected(config);
        var tensors = new Tensor[expected.Count];
        long total = expected.Sum(e => e.Shape.ElementCount), done = 0;
        Parallel.For(0, expected.Count, i =>
        {
            var (name, shape) = expected[i];
            var rng = new GaussianNoise(seed ^ Hash(name));
            var (mean, std) = InitOf(name, shape);
            long count = shape.ElementCount;
            var tensor = Backends.Host.Allocate(dtype, shape, name);
            var flat = tensor.Reshape(new Shape(count));
            // Drawn and written a small chunk at a time: a whole-tensor f64 array (and its packed
            // copy) per parameter is large-object garbage the GC returns late (drawing 0.39 GB of
            // weights peaked at 1.8 GB resident that way; chunked, at 0.5 GB).
            var values = new double[(int)Math.Min(DrawChunk, count)];
            for (long start = 0; start < count; start += values.Length)
            {
                int n = (int)Math.Min(values.Length, count - start);
                for (int j = 0; j < n; j++)
                {
                    values[j] = mean + (std * rng.Next());
                }
                flat.Slice(0, start, n).WriteDoubles(values.AsSpan(0, n));
            }
            tensors[i] = tensor;
            progress?.Report(Interlocked.Add(ref done, count) / (double)total);
        });
        return new WanWeights(config, expected.Select((e, i) => (e.Name, tensors[i])).ToDictionary(p => p.Name, p => p.Item2));
    }

    /// <summary>
    /// Loads <paramref name="path"/> for <paramref name="config"/>. The copy of the model is chosen
    /// by name (<see cref="CheckpointOptions.Copy"/>; without one the file must hold a single
    /// copy), keys are cleaned of training wrappers' tokens (<see cref="CheckpointSelection.Clean"/>),
    /// and inside the copy every expected key must be there (after a nesting prefix such as
    /// <c>model.</c>), with its shape and a float dtype, and nothing else; keys outside a named
    /// copy (the other copy, a critic) are ignored. A LoRA (<see cref="CheckpointOptions.Lora"/>)
    /// is checked whole before any weight is read, then merged (<see cref="LoraMerge"/>).
    /// <paramref name="progress"/> hears the fraction done.
    /// </summary>
    /// <exception cref="ZoetropeWeightsException">Missing, unexpected or mis-shaped keys (of the checkpoint or of the LoRA), all named.</exception>
    /// <exception cref="ZoetropeCheckpointException">Several copies and none chosen, an unknown copy, or two keys that clean to one name.</exception>
    /// <exception cref="ZoetropeFormatException">The file is not valid safetensors or PyTorch (.pt/.pth) checkpoint (names the byte offset).</exception>
    public static WanWeights Load(string path, DiTConfig config, IProgress<double>? progress = null, CheckpointOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        options?.Validate();
        using var file = TensorFiles.Open(path);
        var selection = CheckpointSelection.Select(file, options?.Copy);
        var keyOf = selection.Keys.ToDictionary(k => k.Name, k => k.Key, StringComparer.Ordinal);
        var expected = WanWeightNames.Expected(config);
        // The optional keys (SLA's proj_l) load when present and are checked like the others.
        var optional = WanWeightNames.Optional(config).Where(o => keyOf.ContainsKey(o.Name)).ToList();
        var loading = expected.Concat(optional).ToList();
        var wanted = expected.Concat(WanWeightNames.Optional(config)).ToDictionary(e => e.Name, e => e.Shape);
        var missing = new List<string>();
        var misshaped = new List<string>();
        // Inside the copy, a key the model does not know is unexpected; outside it, only when no
        // copy was named (a file of one copy must hold nothing else, as before copies had names).
        var stray = selection.Keys.Where(k => !wanted.ContainsKey(k.Name)).Select(k => k.Key)
            .Concat(selection.CopyNamed ? [] : selection.Outside).ToHashSet(StringComparer.Ordinal);
        var unexpected = file.Names.Where(stray.Contains).ToList();
        foreach (var (name, shape) in loading)
        {
            if (!keyOf.TryGetValue(name, out var key))
            {
                missing.Add(selection.Prefix + name);
                continue;
            }
            var e = file.Entry(key);
            if (e.Shape != shape)
            {
                misshaped.Add($"{key} (expected {shape}, got {e.Shape})");
            }
            else if (e.DType is not (DType.F32 or DType.F16 or DType.BF16))
            {
                misshaped.Add($"{key} (expected dtype f32, f16 or bf16, got {e.DTypeName})");
            }
        }
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            throw new ZoetropeWeightsException(path, config.Name, missing, unexpected, misshaped);
        }
        // The LoRA is checked against the shapes before a byte of the weights is read.
        using var lora = options?.Lora is string loraPath
            ? LoraMerge.Open(loraPath, loading.ToDictionary(e => e.Name, e => e.Shape), options.LoraAlpha, config.Name)
            : null;
        double share = lora is null ? 1.0 : 0.5;
        long total = loading.Sum(e => e.Shape.ElementCount), done = 0;
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, shape) in loading)
            {
                tensors[name] = file.Load(keyOf[name]);
                done += shape.ElementCount;
                progress?.Report(share * done / total);
            }
            var merged = lora?.Apply(tensors, progress is null ? null : new Progress(f => progress.Report(share + ((1 - share) * f))));
            return new WanWeights(config, tensors) { Copy = selection.Copy, Lora = merged };
        }
        catch
        {
            foreach (var t in tensors.Values)
            {
                t.Dispose();
            }
            throw;
        }
    }

    /// <summary>The copy of the model the weights were loaded from (e.g. <c>generator_ema</c>); null for flat keys, random or given tensors.</summary>
    public string? Copy { get; private init; }

    /// <summary>The LoRA merged at load, or null.</summary>
    public LoraSummary? Lora { get; private init; }

    /// <summary>Wraps tensors the caller holds (checked like a file; the weights own them afterwards).</summary>
    /// <exception cref="ZoetropeWeightsException">Missing, unexpected or mis-shaped keys.</exception>
    public static WanWeights FromTensors(DiTConfig config, IReadOnlyDictionary<string, Tensor> tensors, string label = "tensors")
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(tensors);
        var expected = WanWeightNames.Expected(config);
        var allowed = expected.Concat(WanWeightNames.Optional(config)).ToList();
        var missing = expected.Where(e => !tensors.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        var unexpected = tensors.Keys.Where(k => allowed.All(e => e.Name != k)).ToList();
        var misshaped = allowed.Where(e => tensors.TryGetValue(e.Name, out var t) && (t.Shape != e.Shape || !t.DType.IsFloat()))
            .Select(e => $"{e.Name} (expected {e.Shape}, got {tensors[e.Name].DType.Name()}{tensors[e.Name].Shape})").ToList();
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            throw new ZoetropeWeightsException(label, config.Name, missing, unexpected, misshaped);
        }
        return new WanWeights(config, new Dictionary<string, Tensor>(tensors));
    }

    /// <summary>Writes the weights as safetensors, every key under <paramref name="prefix"/>.</summary>
    public void Save(string path, string prefix = "")
    {
        SafeTensorsWriter.Write(path, Names.Select(n => new KeyValuePair<string, Tensor>(prefix + n, _tensors[n])),
            new Dictionary<string, string> { ["model"] = Config.Name, ["writer"] = "zoetrope" });
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _tensors.Values)
        {
            t.Dispose();
        }
        _tensors.Clear();
    }

    /// <summary>A progress that forwards synchronously (System.Progress posts to the thread pool, out of order).</summary>
    private sealed class Progress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    private static (double Mean, double Std) InitOf(string name, Shape shape)
    {
        if (name.EndsWith("modulation", StringComparison.Ordinal))
        {
            return (0, 0.1);
        }
        if (name.Contains(".norm", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal))
        {
            return (1, 0.1);
        }
        if (name.EndsWith(".bias", StringComparison.Ordinal))
        {
            return (0, 0.02);
        }
        long fanIn = shape.ElementCount / shape[0];
        return (0, 1.0 / Math.Sqrt(fanIn));
    }

    private static ulong Hash(string s)
    {
        ulong h = 14695981039346656037UL; // FNV-1a
        foreach (char ch in s)
        {
            h = (h ^ ch) * 1099511628211UL;
        }
        return h;
    }
}
