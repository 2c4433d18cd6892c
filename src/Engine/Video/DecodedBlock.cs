using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>One stream block turned into video.</summary>
/// <param name="Index">Block number from 0.</param>
/// <param name="Frames">Its video frames.</param>
/// <param name="DecodeMs">Wall time of the decoder on it.</param>
/// <param name="WriteMs">Wall time writing it (0 without a sink).</param>
public sealed record DecodedBlock(int Index, VideoFrames Frames, double DecodeMs, double WriteMs);
