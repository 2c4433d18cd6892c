// WanVaeBlockSpec: one block of the decoder's stack as WanVaeConfig lays it out (the checkpoint
// prefix, what it is, its channels, and where it sits in space and time), read by the weight
// table, the FLOP count and the decoder's construction alike.
namespace Zoetrope.Engine.Decode;

/// <summary>What a decoder block is.</summary>
internal enum WanVaeBlockKind
{
    /// <summary>ResidualBlock: RMS_norm, SiLU, causal conv 3, RMS_norm, SiLU, causal conv 3, plus the (1x1x1 when the width changes) shortcut.</summary>
    Residual,

    /// <summary>AttentionBlock: single-head self-attention over each frame's pixels.</summary>
    Attention,

    /// <summary>Resample upsample2d: nearest x2, Conv2d 3x3 to half the channels.</summary>
    Upsample2d,

    /// <summary>Resample upsample3d: time_conv doubling the frames (but the clip's first), then upsample2d.</summary>
    Upsample3d,
}

/// <summary>A decoder block's place in the stack.</summary>
/// <param name="Prefix">Checkpoint prefix, e.g. decoder.upsamples.3.</param>
/// <param name="Kind">What the block is.</param>
/// <param name="InDim">Channels in.</param>
/// <param name="OutDim">Channels out.</param>
/// <param name="Scale">Its pixels per latent pixel along each axis (at its input).</param>
/// <param name="Time">Its frames per latent frame after the first (at its input).</param>
internal sealed record WanVaeBlockSpec(string Prefix, WanVaeBlockKind Kind, int InDim, int OutDim, int Scale, int Time);
