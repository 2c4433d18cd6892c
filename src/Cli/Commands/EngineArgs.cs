using Zoetrope.Engine;
using Zoetrope.Quant;

namespace Zoetrope.Cli.Commands;

/// <summary>The engine options the stream and profile verbs share, parsed once.</summary>
public static class EngineArgs
{
    /// <summary>--attention dense|sage|sla.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static AttentionMode Attention(string value) =>
        Enum.TryParse<AttentionMode>(value, ignoreCase: true, out var mode) && Enum.IsDefined(mode)
            ? mode
            : throw new ArgumentException($"--attention '{value}': expected dense, sage or sla");

    /// <summary>--linear bf16|w8a8|w8a8-block|fp8.</summary>
    /// <exception cref="ArgumentException">Anything else, with the choices.</exception>
    public static LinearPath Linear(string value) => value.ToLowerInvariant() switch
    {
        "bf16" => LinearPath.Bf16,
        "w8a8" => LinearPath.Int8,
        "w8a8-block" => LinearPath.Int8Block128,
        "fp8" => LinearPath.Fp8,
        _ => throw new ArgumentException($"--linear '{value}': expected bf16, w8a8, w8a8-block or fp8"),
    };
}
