// LatentFrames: frame slicing and concatenation of latents [C, F, H, W] (frame is the second
// axis, so one frame is C strided planes). The session, the CLI and the tests all use these.
namespace Zoetrope.Engine;

/// <summary>Frame-axis operations on latents [C, F, H, W] (f32, host).</summary>
internal static class LatentFrames
{
    /// <summary>Frames [first, first + count) of <paramref name="latents"/> holding <paramref name="frames"/> frames.</summary>
    public static float[] Slice(DiTConfig c, float[] latents, int frames, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(latents);
        Patchify.ExpectLength(c, latents.Length, frames, nameof(latents));
        if (first < 0 || count < 0 || first + count > frames)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"latents: frames [{first}, {first + count}) of {frames}");
        }
        int hw = c.LatentHeight * c.LatentWidth;
        var result = new float[c.LatentChannels * count * hw];
        for (int ch = 0; ch < c.LatentChannels; ch++)
        {
            Array.Copy(latents, ((ch * frames) + first) * hw, result, ch * count * hw, count * hw);
        }
        return result;
    }

    /// <summary>The chunks (each [C, F_i, H, W]) joined along the frame axis.</summary>
    public static float[] Concat(DiTConfig c, IReadOnlyList<float[]> chunks)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(chunks);
        int per = c.FrameLatents;
        int hw = c.LatentHeight * c.LatentWidth;
        if (chunks.FirstOrDefault(x => x.Length % per != 0) is { } bad)
        {
            throw new ArgumentException($"latents: a chunk of {bad.Length} floats is not whole frames of {per}", nameof(chunks));
        }
        int total = chunks.Sum(x => x.Length / per);
        var result = new float[c.LatentChannels * total * hw];
        int at = 0;
        foreach (var chunk in chunks)
        {
            int f = chunk.Length / per;
            for (int ch = 0; ch < c.LatentChannels; ch++)
            {
                Array.Copy(chunk, ch * f * hw, result, ((ch * total) + at) * hw, f * hw);
            }
            at += f;
        }
        return result;
    }
}
