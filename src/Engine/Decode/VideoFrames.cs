namespace Zoetrope.Engine.Decode;

/// <summary>Decoded video frames: RGB in [0, 1], laid out [Count, Height, Width, 3] (f32, host).</summary>
/// <param name="Count">Frames.</param>
/// <param name="Height">Rows per frame.</param>
/// <param name="Width">Columns per frame.</param>
/// <param name="Rgb">The pixels, [Count, Height, Width, 3], each channel in [0, 1].</param>
public sealed record VideoFrames(int Count, int Height, int Width, float[] Rgb)
{
    /// <summary>Floats per frame (Height * Width * 3).</summary>
    public int FrameFloats => Height * Width * 3;

    /// <summary>No frames of the given size.</summary>
    public static VideoFrames Empty(int height, int width) => new(0, height, width, []);
}
