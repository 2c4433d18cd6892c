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

    /// <summary>Under <see cref="AttentionMode.Sla"/> and <see cref="AttentionMode.SageSla"/>: the fraction of key blocks each query block keeps.</summary>
    public float SparseRatio { get; init; } = 0.15f;

    /// <summary>Under the Sage kernels: P·V in V's 16-bit type or in FP8 E4M3.</summary>
    public SagePv SagePv { get; init; } = SagePv.Fp16;

    /// <summary>The KV cache's format; null picks the one the attention kernel reads (INT8 K for Sage, the activation dtype otherwise).</summary>
    public KvFormat? Kv { get; init; }

    /// <summary>
    /// QK-norm and RoPE in one op (qk_norm_rope / qk_norm_rope_int8, writing straight into the
    /// cache) rather than rms_norm then rope_apply; false keeps the separate ops for comparison.
    /// </summary>
    public bool FusedQk { get; init; } = true;

    /// <summary>Whose rounding points the model follows (<see cref="MatchMode.Reference"/>: the PyTorch pipelines').</summary>
    public MatchMode Match { get; init; } = MatchMode.Engine;

    /// <summary>Where the model's ops round: at PyTorch's op boundaries under <see cref="MatchMode.Reference"/>, once per op otherwise.</summary>
    public Rounding Rounding => Match == MatchMode.Reference ? Rounding.PerOp : Rounding.Fused;

    /// <summary>The options of the PyTorch pipelines' numerics: bf16 everywhere, bf16 linears, dense attention, rounded as they round.</summary>
    public static ModelOptions Reference { get; } = new() { Match = MatchMode.Reference };

    /// <summary>Throws unless the options can run together.</summary>
    /// <exception cref="ArgumentException">The first conflict, naming both settings.</exception>
    public void Validate()
    {
        if (Match != MatchMode.Reference)
        {
            return;
        }
        string? conflict = Activations != DType.BF16 ? $"activations {Activations.Name()} (the pipelines run bf16)"
            : Linear != LinearPath.Bf16 ? $"linear {Linear} (the pipelines run bf16 linears)"
            : Attention != AttentionMode.Dense ? $"attention {Attention} (the pipelines run dense attention)"
            : KvFormat != KvFormat.Activations ? $"kv {KvFormat} (the pipelines cache bf16 K/V)"
            : null;
        if (conflict is not null)
        {
            throw new ArgumentException($"model options: --match reference reproduces the PyTorch pipelines' rounding; it cannot run with {conflict}");
        }
    }

    /// <summary>
    /// TurboDiffusion's kernels: SageSLA at top-k 0.1 (P.V in f16), W8A8 INT8 linears with
    /// 128x128 weight blocks, bf16 activations (the stream side is <see cref="StreamOptions.Turbo"/>).
    /// </summary>
    public static ModelOptions Turbo { get; } = new()
    {
        Activations = DType.BF16,
        Linear = LinearPath.Int8Block128,
        Attention = AttentionMode.SageSla,
        SparseRatio = 0.1f,
    };

    /// <summary>The cache format these options run with.</summary>
    public KvFormat KvFormat => Kv ?? (Attention == AttentionMode.Sage ? KvFormat.Int8 : KvFormat.Activations);
}
