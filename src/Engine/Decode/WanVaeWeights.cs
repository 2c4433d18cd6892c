// WanVaeWeights: the VAE decoder's parameters on the host, by checkpoint key, in PyTorch's
// layouts (the decoder permutes them once for conv3d). Two ways in: seeded random values for any
// WanVaeConfig, or a checkpoint, safetensors or PyTorch .pt/.pth (Wan2.1_VAE.pth is a plain state
// dict of the whole VAE: its encoder.* keys and the wrapper's conv1.* belong to the encoder and
// are skipped). Every decoder-side key is checked before a byte is read: missing, unexpected and
// mis-shaped keys are reported together, by name.
using Zoetrope.Runtime.IO;

namespace Zoetrope.Engine.Decode;

/// <summary>A Wan2.1 VAE decoder's parameters (host tensors, f32/f16/bf16), keyed by checkpoint name.</summary>
internal sealed class WanVaeWeights : IDisposable
{
    private readonly Dictionary<string, Tensor> _tensors;

    private WanVaeWeights(WanVaeConfig config, Dictionary<string, Tensor> tensors)
    {
        Config = config;
        _tensors = tensors;
    }

    /// <summary>The decoder these weights fit.</summary>
    public WanVaeConfig Config { get; }

    /// <summary>The parameter <paramref name="name"/> (PyTorch layout).</summary>
    /// <exception cref="KeyNotFoundException">No such parameter.</exception>
    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"weights of VAE '{Config.Name}': no parameter '{name}'");

    /// <summary>Keys, in checkpoint order.</summary>
    public IEnumerable<string> Names => Config.ExpectedKeys().Select(k => k.Name);

    /// <summary>
    /// Seeded random weights: convolution weights ~ N(0, 1/fan_in), biases ~ N(0, 0.02), norm
    /// gammas ~ N(1, 0.1). Each tensor draws from its own stream (seed, key), so a value does not
    /// depend on the order of the keys. (The published init zeroes the attention's proj; random
    /// weights do not, so the attention shows in the output.)
    /// </summary>
    public static WanVaeWeights Random(WanVaeConfig config, ulong seed = 1, DType dtype = DType.F32)
    {
        ArgumentNullException.ThrowIfNull(config);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, shape) in config.ExpectedKeys())
        {
            var rng = new GaussianNoise(seed ^ Hash(name));
            double mean = 0, std;
            if (name.EndsWith(".gamma", StringComparison.Ordinal))
            {
                (mean, std) = (1, 0.1);
            }
            else if (name.EndsWith(".bias", StringComparison.Ordinal))
            {
                std = 0.02;
            }
            else
            {
                std = 1 / Math.Sqrt(shape.ElementCount / shape[0]);
            }
            var values = new double[shape.ElementCount];
            for (long i = 0; i < values.LongLength; i++)
            {
                values[i] = mean + (std * rng.Next());
            }
            tensors[name] = Tensor.FromDoubles(values, dtype, shape, name);
        }
        return new WanVaeWeights(config, tensors);
    }

    /// <summary>
    /// Loads the decoder's parameters from <paramref name="path"/> (safetensors or a PyTorch
    /// .pt/.pth state dict). Without <paramref name="config"/>, the width is read from the file
    /// (decoder.head.0.gamma holds the base dim; the rest of the structure is the published one).
    /// Keys under encoder.* and conv1.* are the encoder's and are ignored; every other key must be
    /// an expected one, with its shape and a float dtype, and every expected one must be there.
    /// </summary>
    /// <exception cref="ZoetropeWeightsException">Missing, unexpected or mis-shaped keys, all named at once.</exception>
    /// <exception cref="ZoetropeFormatException">The file is not valid safetensors or a PyTorch checkpoint.</exception>
    public static WanVaeWeights Load(string path, WanVaeConfig? config = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = TensorFiles.Open(path);
        config ??= InferConfig(file);
        var expected = config.ExpectedKeys();
        var wanted = expected.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        var missing = expected.Where(e => !file.Contains(e.Name)).Select(e => e.Name).ToList();
        var unexpected = file.Names.Where(n => !wanted.ContainsKey(n) && !IsEncoderSide(n)).ToList();
        var misshaped = new List<string>();
        foreach (var (name, shape) in expected.Where(e => file.Contains(e.Name)))
        {
            var e = file.Entry(name);
            if (e.Shape != shape)
            {
                misshaped.Add($"{name} (expected {shape}, got {e.Shape})");
            }
            else if (e.DType is not (DType.F32 or DType.F16 or DType.BF16))
            {
                misshaped.Add($"{name} (expected dtype f32, f16 or bf16, got {e.DTypeName})");
            }
        }
        if (missing.Count + unexpected.Count + misshaped.Count > 0)
        {
            throw new ZoetropeWeightsException(path, config.Name, missing, unexpected, misshaped);
        }
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, _) in expected)
            {
                tensors[name] = file.Load(name);
            }
            return new WanVaeWeights(config, tensors);
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

    /// <summary>Writes the weights as safetensors (PyTorch layouts, the checkpoint's keys).</summary>
    public void Save(string path) =>
        SafeTensorsWriter.Write(path, Names.Select(n => new KeyValuePair<string, Tensor>(n, _tensors[n])),
            new Dictionary<string, string> { ["model"] = Config.Name, ["writer"] = "zoetrope" });

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _tensors.Values)
        {
            t.Dispose();
        }
        _tensors.Clear();
    }

    // The whole VAE's checkpoint also holds the encoder (encoder.*) and its 1x1x1 conv1 (conv1.*).
    private static bool IsEncoderSide(string key) =>
        key.StartsWith("encoder.", StringComparison.Ordinal) || key.StartsWith("conv1.", StringComparison.Ordinal);

    private static WanVaeConfig InferConfig(ITensorFile file)
    {
        var published = WanVaeConfig.Published;
        const string Anchor = "decoder.head.0.gamma";
        if (!file.Contains(Anchor) || file.Entry(Anchor).Shape is not { Rank: >= 1 } shape || shape[0] == published.BaseDim || shape[0] <= 0)
        {
            // No readable width: check against the published decoder, which names what is wrong.
            return published;
        }
        return shape[0] == WanVaeConfig.Tiny.BaseDim ? WanVaeConfig.Tiny : published with { Name = $"wan2.1-vae-dim{shape[0]}", BaseDim = (int)shape[0] };
    }

    // FNV-1a of the key: a per-tensor stream that does not depend on the order keys are drawn in.
    private static ulong Hash(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in s)
        {
            h = (h ^ c) * 1099511628211UL;
        }
        return h;
    }
}
