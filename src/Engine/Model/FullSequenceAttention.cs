namespace Zoetrope.Engine;

/// <summary>
/// Self-attention over the forward's own tokens under a mask, frames at absolute positions
/// first, first+1, ...: the one-shot forward the streaming path must reproduce (with the
/// block-causal mask), and a plain bidirectional forward (with none: `zoe generate`). Under Sage,
/// K is smoothed by its own mean over the forward's tokens.
/// </summary>
internal sealed class FullSequenceAttention(WanModel model, AttentionMask mask, long firstFrame = 0) : ISelfAttention
{
    /// <summary>The block-causal mask matching a stream with these options: blocks of F frames, the window and sinks in blocks.</summary>
    public static AttentionMask StreamMask(DiTConfig c, StreamOptions o)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(o);
        return AttentionMask.BlockCausal(o.BlockFrames * c.FrameTokens, o.WindowFrames / o.BlockFrames, o.SinkFrames / o.BlockFrames);
    }

    /// <inheritdoc />
    public void Attend(WanLayer layer, ForwardScratch s)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(s);
        var qk = model.Qk;
        if (model.Kernel.ReadsInt8)
        {
            var (q8, k8) = (s.SageQ, s.SageK);
            qk.QueryInt8(s.Q, layer.NormQ, q8.Q, q8.QScale, s.Frames, firstFrame);
            qk.KeyInt8(s.K, layer.NormK, k8.K, k8.KScale, k8.KMean, meanGiven: false, s.Frames, firstFrame);
            model.Kernel.RunSage(q8.Q, q8.QScale, k8.K, k8.KScale, s.V, s.O, mask, k8.KMean);
            return;
        }
        qk.NormRope(s.Q, layer.NormQ, s.QRot, s.QNorm, s.Frames, firstFrame);
        qk.NormRope(s.K, layer.NormK, s.KRot, s.KNorm, s.Frames, firstFrame);
        model.Kernel.Run(layer, s.QRot, s.KRot, s.V, s.O, mask);
    }
}
