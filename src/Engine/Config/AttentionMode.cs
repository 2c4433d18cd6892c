namespace Zoetrope.Engine;

/// <summary>The self-attention kernel family a run uses.</summary>
public enum AttentionMode
{
    /// <summary>Dense flash attention in the activation dtype.</summary>
    Dense,

    /// <summary>SageAttention: INT8 Q/K (per-block scales, smoothed K), P·V in FP16.</summary>
    Sage,

    /// <summary>Sparse-Linear Attention: top-k key blocks exact, the rest through the linear branch (proj_l per layer).</summary>
    Sla,

    /// <summary>SageSLA (TurboDiffusion): SLA whose sparse branch is SageAttention over INT8 Q/K.</summary>
    SageSla,
}
