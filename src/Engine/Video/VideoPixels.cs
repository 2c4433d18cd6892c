using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>
/// Decoded frames (RGB f32 in [0, 1]) as 8-bit RGB: each channel clamped to [0, 1] and rounded to
/// the nearest of 0..255 (NaN reads 0), the quantization every writer here shares.
/// </summary>
internal static class VideoPixels
{
    /// <summary>One channel value as a byte.</summary>
    public static byte ToByte(float value) => value > 0 ? value < 1 ? (byte)((value * 255f) + 0.5f) : (byte)255 : (byte)0;

    /// <summary>Frame <paramref name="index"/> of <paramref name="frames"/> as RGB bytes [Height, Width, 3].</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such frame.</exception>
    public static byte[] Frame(VideoFrames frames, int index)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, frames.Count);
        var source = frames.Rgb.AsSpan(index * frames.FrameFloats, frames.FrameFloats);
        var bytes = new byte[source.Length];
        for (int i = 0; i < source.Length; i++)
        {
            bytes[i] = ToByte(source[i]);
        }
        return bytes;
    }
}
