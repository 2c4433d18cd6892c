namespace Zoetrope.Engine;

/// <summary>How the rolling KV cache stores keys and values.</summary>
public enum KvFormat
{
    /// <summary>K and V in the activation dtype (bf16 on GPUs): what every attention kernel reads.</summary>
    Activations,

    /// <summary>
    /// Sage's cache: K as INT8 codes with one f32 scale per token and head, smoothed by one vector
    /// per layer and head fixed when the cache is first filled (subtracting the same vector from
    /// every key adds a constant per query row, which softmax ignores); V in the activation dtype.
    /// A forward quantizes only its own frames. Serves <see cref="AttentionMode.Sage"/>.
    /// </summary>
    Int8,
}
