// Rounding: where an op rounds its fp32 intermediates to the output dtype. The engine's kernels
// fuse several PyTorch operations into one op and round once at its output (closer to the exact
// result). The published streaming pipelines (Self-Forcing, LongLive) run every eager PyTorch op
// in bf16, so each op boundary inside a fused kernel is a rounding there; PerOp reproduces those
// boundaries, so a same-noise comparison with them agrees to bf16 precision
// (README, "Rounding points"; the engine's --match reference).
namespace Zoetrope.Runtime;

/// <summary>Where an op rounds intermediate values to its output dtype.</summary>
public enum Rounding
{
    /// <summary>fp32 math throughout, one rounding at the op's output.</summary>
    Fused,

    /// <summary>
    /// A rounding to the output dtype at every boundary between the eager PyTorch operations the op
    /// stands for (each op's page lists them); fp32 math inside each of those operations.
    /// </summary>
    PerOp,
}

/// <summary>The ops' <c>rounding</c> attribute: its spellings (fused, per-op), declared once for every op that takes it.</summary>
internal static class RoundingAttr
{
    /// <summary>The spelling of <see cref="Rounding.Fused"/>.</summary>
    public const string Fused = "fused";

    /// <summary>The spelling of <see cref="Rounding.PerOp"/>.</summary>
    public const string PerOp = "per-op";

    /// <summary>The attribute, with the op's own account of where per-op rounds in <paramref name="description"/>.</summary>
    public static Ops.OpAttr<string> Declare(string description) => Ops.OpAttr.Choice("rounding", Fused, description, Fused, PerOp);

    /// <summary>The <see cref="Rounding"/> a value of the attribute names.</summary>
    public static Rounding Parse(string value) => value == PerOp ? Rounding.PerOp : Rounding.Fused;

    /// <summary>The attribute's value for <paramref name="rounding"/> (the inverse of <see cref="Parse"/>).</summary>
    public static string Name(Rounding rounding) => rounding == Rounding.PerOp ? PerOp : Fused;
}
