namespace Zoetrope.Engine;

/// <summary>
/// How a checkpoint file becomes one model's weights: which copy of the model to read (a training
/// checkpoint such as Self-Forcing's or LongLive's holds <c>generator</c>, <c>generator_ema</c> and
/// often a <c>critic</c>), and a LoRA to merge into it at load.
/// </summary>
public sealed record CheckpointOptions
{
    /// <summary>The EMA copy's name in Self-Forcing's and LongLive's checkpoints (their <c>--use_ema</c>).</summary>
    public const string EmaCopy = "generator_ema";

    /// <summary>Options that read the EMA copy (<see cref="EmaCopy"/>).</summary>
    public static CheckpointOptions UseEma { get; } = new() { Copy = EmaCopy };

    /// <summary>
    /// The copy to load: the top-level key (or dotted key path) it sits under, e.g.
    /// <c>generator_ema</c>, <c>generator</c>, <c>model</c>. Null: the file must hold one copy
    /// (flat keys, or a single nesting such as <c>model.</c>); a file with several is refused.
    /// </summary>
    public string? Copy { get; init; }

    /// <summary>A LoRA file (.pt or .safetensors, PEFT key names) merged into the weights at load; null: none.</summary>
    public string? Lora { get; init; }

    /// <summary>The LoRA's alpha; the merge scales B @ A by alpha / rank. Null: alpha = rank (scale 1, LongLive's 256 / 256).</summary>
    public double? LoraAlpha { get; init; }

    /// <summary>Checks the options themselves (not the files): a non-empty copy name, an alpha only with a LoRA, finite and positive.</summary>
    /// <exception cref="ArgumentException">Names the bad option.</exception>
    public void Validate()
    {
        if (Copy is not null && Copy.Trim('.').Length == 0)
        {
            throw new ArgumentException($"checkpoint copy '{Copy}': an empty name (leave it out to load a file that holds one copy)");
        }
        if (LoraAlpha is double alpha)
        {
            if (Lora is null)
            {
                throw new ArgumentException($"LoRA alpha {alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}: given without a LoRA file");
            }
            if (!(alpha > 0) || double.IsInfinity(alpha))
            {
                throw new ArgumentException($"LoRA alpha {alpha.ToString(System.Globalization.CultureInfo.InvariantCulture)}: must be a positive number");
            }
        }
        if (Lora is { Length: 0 })
        {
            throw new ArgumentException("LoRA file: an empty path");
        }
    }
}
