namespace Zoetrope.Engine;

/// <summary>
/// Where a forward's self-attention gets its keys: the forward's own tokens under a mask (a
/// full-sequence forward), or the rolling cache (a streaming block, a prompt-switch recache).
/// </summary>
public interface ISelfAttention
{
    /// <summary>
    /// Rotates s.QNorm (and uses s.KNorm, s.V: normed, un-rotated, [1, N, H, D]) and writes
    /// the attention output of layer <paramref name="layer"/> to s.O.
    /// </summary>
    void Attend(int layer, ForwardScratch s);
}
