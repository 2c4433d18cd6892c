namespace Zoetrope.Engine.Decode;

/// <summary>Opens a decoder by kind, and reads and names the kinds as the command line spells them ("wan", "tiny").</summary>
public static class VideoDecoders
{
    private static readonly (string Name, DecoderKind Kind)[] Kinds = [("wan", DecoderKind.Wan), ("tiny", DecoderKind.Tiny)];

    /// <summary>The spellings, for help and error messages: "wan|tiny".</summary>
    public static string Choices => string.Join('|', Kinds.Select(k => k.Name));

    /// <summary>"wan" or "tiny" (any case).</summary>
    /// <exception cref="ArgumentException">Anything else; the message lists the choices.</exception>
    public static DecoderKind Parse(string name) =>
        Kinds.Where(k => string.Equals(k.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase)).Select(k => (DecoderKind?)k.Kind).FirstOrDefault()
        ?? throw new ArgumentException($"decoder '{name}': unknown; expected {Choices} (wan: Wan2.1's VAE; tiny: TAEHV, the real-time preview decoder)");

    /// <summary>The spelling of <paramref name="kind"/>.</summary>
    public static string Name(DecoderKind kind) => Kinds.First(k => k.Kind == kind).Name;

    /// <summary>
    /// Opens the decoder for latents of <paramref name="dit"/>: weights from <paramref name="weightsPath"/>,
    /// or seeded random ones (<paramref name="seed"/>) when null.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">Not a <see cref="DecoderKind"/>.</exception>
    public static IVideoDecoder Open(DecoderKind kind, Backend backend, DiTConfig dit, DType dtype, string? weightsPath, int seed) => kind switch
    {
        DecoderKind.Wan => WanVaeDecoder.Open(backend, dit, dtype, weightsPath, seed),
        DecoderKind.Tiny => TaehvDecoder.Open(backend, dit, dtype, weightsPath, seed),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a decoder kind"),
    };
}
