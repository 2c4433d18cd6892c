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

    /// <summary>The preset named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">Unknown name; the message lists the known ones.</exception>
    public static QuantScheme Parse(string name) =>
        Named.TryGetValue(name, out var s)
            ? s
            : throw new ArgumentException($"unknown quantization scheme '{name}'; known: {string.Join(", ", Named.Keys)}", nameof(name));
}
