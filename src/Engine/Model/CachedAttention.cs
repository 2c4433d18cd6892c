namespace Zoetrope.Engine;

/// <summary>
/// Self-attention of one streaming block: its K/V go into its (claimed) cache slots, then its
/// queries attend to every cached frame, its own included. Call <see cref="KvCache.Claim"/> first.
/// </summary>
public sealed class CachedAttention(WanModel model, KvCache cache, long firstFrame) : ISelfAttention
{
    /// <inheritdoc />
    public void Attend(int layer, ForwardScratch s)
    {
        long qPos = cache.PositionOf(firstFrame);
        model.Rotate(s.QNorm, s.QRot, s.Frames, qPos);
        if (cache.StoresRotated)
        {
            model.Rotate(s.KNorm, s.KRot, s.Frames, firstFrame);
            cache.Write(layer, firstFrame, s.Frames, s.KRot, s.V);
        }
        else
        {
            cache.Write(layer, firstFrame, s.Frames, s.KNorm, s.V);
        }
        var (k, v) = cache.Read(layer);
        model.Kernel.Run(s.QRot, k, v, s.O, AttentionMask.None);
    }
}
