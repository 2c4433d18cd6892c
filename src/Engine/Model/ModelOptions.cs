using Zoetrope.Quant;

namespace Zoetrope.Engine;

/// <summary>How a model runs: activation dtype, the block linears' path, the self-attention kernel.</summary>
public sealed record ModelOptions
{
    /// <summary>Activations, norm weights and the KV cache (bf16 on GPUs; f32 for checking).</summary>
    public DType Activations { get; init; } = DType.BF16;

    /// <summary>
    /// The path of the transformer blocks' linears (q, k, v, o, FFN). The patch embedding, text
    /// MLP and head stay in the activation dtype, as quantized DiT deployments keep them.
    /// </summary>
    public LinearPath Linear { get; init; } = LinearPath.Bf16;

    /// <summary>The self-attention kernel.</summary>
    public AttentionMode Attention { get; init; } = AttentionMode.Dense;

    /// <summary>Under <see cref="AttentionMode.Sla"/>: the fraction of key blocks each query block keeps.</summary>
    public float SparseRatio { get; init; } = 0.15f;
}
