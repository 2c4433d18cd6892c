// TaehvWeights: a TAEHV decoder's parameters on the host, by the published checkpoint's keys
// (taehv.py's state dict: decoder.<Sequential index>.<...>, PyTorch layouts [Cout, Cin, Kh, Kw]).
// Two ways in: seeded random values for any configuration, or a published file (safetensors or
// PyTorch .pth/.pt) whose encoder.* keys are ignored. Every decoder key is checked before a byte is
// read: missing, unexpected and mis-shaped keys are reported together, by name.
using Zoetrope.Runtime.IO;

namespace Zoetrope.Engine.Decode;

/// <summary>A TAEHV decoder's parameters (host tensors), keyed as in the published checkpoints.</summary>
internal sealed class TaehvWeights : IDisposable
{
    private const string EncoderPrefix = "encoder.";

    private readonly Dictionary<string, Tensor> _tensors;

    private TaehvWeights(TaehvConfig config, Dictionary<string, Tensor> tensors)
    {
        Config = config;
        _tensors = tensors;
    }

    /// <summary>The configuration these weights fit.</summary>
    public TaehvConfig Config { get; }

    /// <summary>The parameter <paramref name="name"/> (PyTorch layout).</summary>
    /// <exception cref="KeyNotFoundException">No such parameter.</exception>
    public Tensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"TAEHV weights of '{Config.Name}': no parameter '{name}'");

    /// <summary>The keys, in decoder order.</summary>
    public IEnumerable<string> Names => Expected(Config).Select(e => e.Name);

    /// <summary>The key of the MemBlock at decoder index <paramref name="index"/>'s convolution <paramref name="conv"/> (0, 2 or 4: the Sequential's indices).</summary>
    public static string MemBlockKey(int index, int conv, string what) => FormattableString.Invariant($"decoder.{index}.conv.{conv}.{what}");

    /// <summary>The key of the TGrow of stage <paramref name="stage"/> (0..2).</summary>
    public static string TGrowKey(int stage) => FormattableString.Invariant($"decoder.{StageBase(stage) + 4}.conv.weight");

    /// <summary>The key of the 3x3 convolution after stage <paramref name="stage"/>'s TGrow.</summary>
    public static string StageConvKey(int stage) => FormattableString.Invariant($"decoder.{StageBase(stage) + 5}.weight");

    /// <summary>Decoder index of stage <paramref name="stage"/>'s first MemBlock (3, 9, 15).</summary>
    public static int StageBase(int stage) => 3 + (6 * stage);

    /// <summary>Every decoder parameter of <paramref name="config"/> with its PyTorch shape, in decoder order.</summary>
    public static IReadOnlyList<(string Name, Shape Shape)> Expected(TaehvConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var f = config.Features;
        var list = new List<(string, Shape)>
        {
            ("decoder.1.weight", new Shape(f[0], config.LatentChannels, 3, 3)),
            ("decoder.1.bias", new Shape(f[0])),
        };
        for (int s = 0; s < 3; s++)
        {
            int c = f[s];
            for (int k = 0; k < TaehvConfig.MemBlocksPerStage; k++)
            {
                int i = StageBase(s) + k;
                list.Add((MemBlockKey(i, 0, "weight"), new Shape(c, 2 * c, 3, 3)));
                list.Add((MemBlockKey(i, 0, "bias"), new Shape(c)));
                list.Add((MemBlockKey(i, 2, "weight"), new Shape(c, c, 3, 3)));
                list.Add((MemBlockKey(i, 2, "bias"), new Shape(c)));
                list.Add((MemBlockKey(i, 4, "weight"), new Shape(c, c, 3, 3)));
                list.Add((MemBlockKey(i, 4, "bias"), new Shape(c)));
            }
            list.Add((TGrowKey(s), new Shape(c * TaehvConfig.TimeStrides[s], c, 1, 1)));
            list.Add((StageConvKey(s), new Shape(f[s + 1], c, 3, 3)));
        }
        list.Add(("decoder.22.weight", new Shape(3, f[3], 3, 3)));
        list.Add(("decoder.22.bias", new Shape(3)));
        return list;
    }

    /// <summary>
    /// Seeded random weights (f32): convolution weights ~ N(0, 1/fan_in), biases ~ N(0, 0.05), and
    /// the last convolution scaled so most pixels land inside [0, 1] (weights ~ N(0, 0.25/fan_in),
    /// bias ~ N(0.5, 0.05)) instead of clamping. Each tensor has its own stream (seed, key index).
    /// </summary>
    public static TaehvWeights Random(TaehvConfig config, ulong seed = 1)
    {
        var expected = Expected(config);
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < expected.Count; i++)
        {
            var (name, shape) = expected[i];
            var rng = GaussianNoise.For(seed, 0x7ae4, i);
            bool last = name.StartsWith("decoder.22.", StringComparison.Ordinal);
            bool bias = name.EndsWith(".bias", StringComparison.Ordinal);
            double std = bias ? 0.05 : (last ? 0.5 : 1.0) / Math.Sqrt(shape.ElementCount / shape[0]);
            double mean = bias && last ? 0.5 : 0;
            var values = new double[shape.ElementCount];
            for (int j = 0; j < values.Length; j++)
            {
                values[j] = mean + (std * rng.Next());
            }
            tensors[name] = Tensor.FromDoubles(values, DType.F32, shape, name);
        }
        return new TaehvWeights(config, tensors);
    }

    /// <summary>
    /// Loads the decoder of a published TAEHV checkpoint (safetensors, or a PyTorch .pth/.pt state
    /// dict): encoder.* keys are ignored, every decoder key of <paramref name="config"/> must be
    /// there with its shape and a float dtype, and nothing else. As upstream's patch_tgrow_layers
    /// does, a TGrow weight with more output channels than the configuration's (a checkpoint
    /// trained with a larger time stride) is cut to its last ones.
    /// </summary>
    /// <exception cref="ZoetropeWeightsException">Missing, unexpected or mis-shaped keys, all named at once.</exception>
    /// <exception cref="ZoetropeFormatException">The file is not valid safetensors or PyTorch.</exception>
    public static TaehvWeights Load(string path, TaehvConfig config)
    {
        ArgumentNullException.ThrowIfNull(path);
        var expected = Expected(config);
        using var file = TensorFiles.Open(path);
        var wanted = expected.ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        var unexpected = file.Names.Where(n => !n.StartsWith(EncoderPrefix, StringComparison.Ordinal) && !wanted.ContainsKey(n)).ToList();
        var missing = new List<string>();
        var misshaped = new List<string>();
        var tgrow = Enumerable.Range(0, 3).Select(TGrowKey).ToHashSet(StringComparer.Ordinal);
        foreach (var (name, shape) in expected)
        {
            if (!file.Contains(name))
            {
                missing.Add(name);
                continue;
            }
            var e = file.Entry(name);
            bool fits = e.Shape == shape || (tgrow.Contains(name) && IsWiderTGrow(e.Shape, shape));
            if (!fits)
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
            foreach (var (name, shape) in expected)
            {
                using var loaded = file.Load(name);
                // The last rows of a wider TGrow (upstream keeps the last-timestep output channels).
                using var rows = loaded.Slice(0, loaded.Shape[0] - shape[0], shape[0]);
                tensors[name] = Tensor.FromDoubles(rows.ToDoubles(), DType.F32, shape, name);
            }
            return new TaehvWeights(config, tensors);
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

    /// <summary>Writes the weights as safetensors under their checkpoint keys.</summary>
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

    // [k * rows, c, 1, 1] for k > 1: the same convolution with more time groups.
    private static bool IsWiderTGrow(Shape actual, Shape wanted) =>
        actual.Rank == 4 && actual[1] == wanted[1] && actual[2] == 1 && actual[3] == 1 && actual[0] > wanted[0] && actual[0] % wanted[1] == 0;
}
