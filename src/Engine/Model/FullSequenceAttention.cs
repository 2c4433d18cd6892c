namespace Zoetrope.Engine;

/// <summary>
/// Self-attention over the forward's own tokens under a mask, frames at absolute positions
/// first, first+1, ...: the one-shot forward the streaming path must reproduce (with the
/// block-causal mask), and a plain bidirectional forward (with none).
/// </summary>
public sealed class FullSequenceAttention(WanModel model, AttentionMask mask, long firstFrame = 0) : ISelfAttention
{
    /// <summary>The block-causal mask matching a stream with these options: blocks of F frames, the window and sinks in blocks.</summary>
    public static AttentionMask StreamMask(DiTConfig c, StreamOptions o)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(o);
        return AttentionMask.BlockCausal(o.BlockFrames * c.FrameTokens, o.WindowFrames / o.BlockFrames, o.SinkFrames / o.BlockFrames);
    }

    /// <inheritdoc />
    public void Attend(int layer, ForwardScratch s)
    {
        model.Rotate(s.QNorm, s.QRot, s.Frames, firstFrame);
        model.Rotate(s.KNorm, s.KRot, s.Frames, firstFrame);
        model.Kernel.Run(s.QRot, s.KRot, s.V, s.O, mask);
    }
}
