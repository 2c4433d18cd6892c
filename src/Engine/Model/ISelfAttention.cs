namespace Zoetrope.Engine;

/// <summary>
/// Where a forward's self-attention gets its keys: the forward's own tokens under a mask (a
/// full-sequence forward), or the rolling cache (a streaming block, a prompt-switch recache).
/// </summary>
internal interface ISelfAttention
{
    /// <summary>
    /// Takes s.Q and s.K (the raw q/k projections [N, dim]) and s.V [1, N, H, D], runs the QK path
    /// (RMSNorm with <paramref name="layer"/>'s weights, RoPE at the frames' positions, Sage's INT8
    /// when the kernel reads it) and the attention, and writes the output to s.O.
    /// </summary>
    void Attend(WanLayer layer, ForwardScratch s);
}
