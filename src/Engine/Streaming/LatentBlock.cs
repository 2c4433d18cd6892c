namespace Zoetrope.Engine;

/// <summary>One generated block of clean latent frames.</summary>
/// <param name="Index">Block number from 0.</param>
/// <param name="FirstFrame">Absolute index of its first latent frame.</param>
/// <param name="Frames">Latent frames in the block.</param>
/// <param name="Latents">The clean latents [C, Frames, H, W], f32.</param>
/// <param name="LatencyMs">Wall time to generate it (all its forwards).</param>
/// <param name="VideoFrames">Video frames it decodes to: 4 per latent frame, 3 fewer for the very first block.</param>
public sealed record LatentBlock(int Index, long FirstFrame, int Frames, float[] Latents, double LatencyMs, int VideoFrames);
