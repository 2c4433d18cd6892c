// CachedAttention: self-attention of one streaming block. The QK path writes the block's K
// straight into its (claimed) cache slots, V is copied after it, and the block's queries attend
// to every cached frame, its own included:
//   float cache, keys stored rotated   K = norm+rope(k) at its absolute frames -> the slots
//   float cache, rotated on read       K = norm(k) -> the slots; the read pool re-rotates what moved
//   INT8 cache (Sage)                  K = int8(norm+rope(k) - mean) with a scale per token -> the
//                                      slots; Q quantized per 128 rows; SageAttention over the pool
// Call KvCache.Claim first.
namespace Zoetrope.Engine;

/// <summary>Self-attention of a streaming block over the rolling cache.</summary>
internal sealed class CachedAttention(WanModel model, KvCache cache, long firstFrame) : ISelfAttention
{
    /// <inheritdoc />
    public void Attend(WanLayer layer, ForwardScratch s)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(s);
        int frames = s.Frames;
        long qPos = cache.PositionOf(firstFrame);
        var qk = model.Qk;
        if (cache.Format == KvFormat.Int8)
        {
            var sage = s.SageQ;
            qk.QueryInt8(s.Q, layer.NormQ, sage.Q, sage.QScale, frames, qPos);
            qk.KeyInt8(s.K, layer.NormK, cache.KeySlots(layer.Index, firstFrame, frames), cache.KeyScaleSlots(layer.Index, firstFrame, frames),
                cache.KeyMean(layer.Index), cache.MeansFixed, frames, firstFrame);
            cache.WriteValues(layer.Index, firstFrame, frames, s.V);
            var (k8, kScale, v8, mean) = cache.ReadInt8(layer.Index);
            model.Kernel.RunSage(sage.Q, sage.QScale, k8, kScale, v8, s.O, AttentionMask.None, mean);
            return;
        }
        qk.NormRope(s.Q, layer.NormQ, s.QRot, s.QNorm, frames, qPos);
        var slots = cache.KeySlots(layer.Index, firstFrame, frames);
        if (cache.StoresRotated)
        {
            qk.NormRope(s.K, layer.NormK, slots, s.KNorm, frames, firstFrame);
        }
        else
        {
            qk.Norm(s.K, layer.NormK, slots);
        }
        cache.WriteValues(layer.Index, firstFrame, frames, s.V);
        var (k, v) = cache.Read(layer.Index);
        model.Kernel.Run(layer, s.QRot, k, v, s.O, AttentionMask.None);
    }
}
