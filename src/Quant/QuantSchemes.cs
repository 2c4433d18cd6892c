using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant;

/// <summary>Scheme names for the CLI (<c>--attr scheme=...</c>).</summary>
public static class QuantSchemes
{
    /// <summary>The named presets.</summary>
    public static IReadOnlyDictionary<string, QuantScheme> Named { get; } = new Dictionary<string, QuantScheme>(StringComparer.OrdinalIgnoreCase)
    {
        ["per_token_int8"] = QuantScheme.PerTokenInt8,
        ["per_channel_int8"] = QuantScheme.PerChannelInt8,
        ["block128_int8"] = QuantScheme.Block128Int8,
        ["per_tensor_fp8"] = QuantScheme.PerTensorFp8,
        ["per_token_fp8"] = QuantScheme.PerTokenFp8,
    };

    /// <summary>scheme=...: one of <see cref="Named"/>, the preset the overrides below start from.</summary>
    public static OpAttr<string> Attr { get; } = OpAttr.Choice("scheme", "per_token_int8", "the preset: granularity of the scales, format, divisor and floor", [.. Named.Keys]);

    private static OpAttr<string> FormatAttr { get; } = OpAttr.Choice("format", "preset", "override the preset's format", "preset", DType.I8.Name(), DType.F8E4M3.Name());

    private static OpAttr<float> QMaxAttr { get; } = OpAttr.ComputedFloat("qmax", "the preset's", "override the divisor: scale = amax / qmax", min: float.Epsilon);

    private static OpAttr<float> FloorAttr { get; } = OpAttr.ComputedFloat("floor", "the preset's", "override the smallest scale (an all-zero group)", min: float.Epsilon);

    private static OpAttr<int> BlockRowsAttr { get; } = OpAttr.Int("block_rows", 0, "block presets: rows per scale tile (0: the preset's 128)", min: 0);

    private static OpAttr<int> BlockColsAttr { get; } = OpAttr.Int("block_cols", 0, "block presets: columns per scale tile (0: the preset's 128)", min: 0);

    /// <summary>The scheme attributes: a preset and its overrides.</summary>
    public static OpAttributes Attributes { get; } = OpAttributes.Of(Attr, FormatAttr, QMaxAttr, FloorAttr, BlockRowsAttr, BlockColsAttr);

    /// <summary>The scheme a run-op binding names.</summary>
    /// <exception cref="ArgumentException">A tile override on a preset without tiles.</exception>
    public static QuantScheme Bind(OpBinding binding)
    {
        ArgumentNullException.ThrowIfNull(binding);
        var s = Parse(binding.Get(Attr));
        string format = binding.Get(FormatAttr);
        float qmax = binding.Get(QMaxAttr), floor = binding.Get(FloorAttr);
        int rows = binding.Get(BlockRowsAttr), cols = binding.Get(BlockColsAttr);
        if ((rows > 0 || cols > 0) && s.Granularity != QuantGranularity.Block)
        {
            throw new ArgumentException($"{binding.Op}: block_rows and block_cols apply to block presets (block128_int8), not scheme={binding.Get(Attr)}");
        }
        return s with
        {
            Format = format == "preset" ? s.Format : DTypes.Parse(format),
            QMax = float.IsNaN(qmax) ? s.QMax : qmax,
            Floor = float.IsNaN(floor) ? s.Floor : floor,
            BlockRows = rows > 0 ? rows : s.BlockRows,
            BlockCols = cols > 0 ? cols : s.BlockCols,
        };
    }

    /// <summary>The attribute values that bind back to <paramref name="scheme"/>: the preset needing the fewest overrides, and those.</summary>
    public static OpAttributeValues Describe(QuantScheme scheme, OpAttributeValues values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var (name, preset) = Named.Where(kv => kv.Value.Granularity == scheme.Granularity)
            .OrderBy(kv => (kv.Value.Format != scheme.Format ? 1 : 0) + (kv.Value.QMax != scheme.QMax ? 1 : 0) + (kv.Value.Floor != scheme.Floor ? 1 : 0)
                + (kv.Value.BlockRows != scheme.BlockRows ? 1 : 0) + (kv.Value.BlockCols != scheme.BlockCols ? 1 : 0))
            .First();
        values.Set(Attr, name);
        values.Set(FormatAttr, scheme.Format == preset.Format ? "preset" : scheme.Format.Name());
        values.Set(QMaxAttr, scheme.QMax == preset.QMax ? float.NaN : scheme.QMax);
        values.Set(FloorAttr, scheme.Floor == preset.Floor ? float.NaN : scheme.Floor);
        if (scheme.Granularity == QuantGranularity.Block)
        {
            values.Set(BlockRowsAttr, scheme.BlockRows == preset.BlockRows ? 0 : scheme.BlockRows);
            values.Set(BlockColsAttr, scheme.BlockCols == preset.BlockCols ? 0 : scheme.BlockCols);
        }
        return values;
    }

    /// <summary>The preset named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static QuantScheme Parse(string name) =>
        Named.TryGetValue(name, out var s)
            ? s
            : throw new ArgumentException($"unknown quantization scheme '{name}'; known: {string.Join(", ", Named.Keys)}", nameof(name));
}
