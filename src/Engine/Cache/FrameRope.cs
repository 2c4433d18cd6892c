using Zoetrope.Attention;
using Zoetrope.Attention.Rope;

namespace Zoetrope.Engine;

/// <summary>Wan 3D RoPE on whole latent frames of an NHD tensor, with the table's bound checked first.</summary>
internal static class FrameRope
{
    /// <summary>The RoPE grid of <paramref name="frames"/> frames at temporal positions position, position+1, ...</summary>
    /// <exception cref="ZoetropeStreamException">The frames pass the 1024-position table.</exception>
    public static RopeGrid Grid(DiTConfig c, int frames, long position)
    {
        ArgumentNullException.ThrowIfNull(c);
        if (position < 0 || position + frames > WanRopeTable.Positions)
        {
            throw new ZoetropeStreamException(
                $"RoPE: frames {position}..{position + frames - 1} pass the {WanRopeTable.Positions}-position table; use the cache-relative policy (--rope relative) for unbounded streams");
        }
        return new RopeGrid(frames, c.GridHeight, c.GridWidth, (int)position);
    }

    /// <summary>Rotates [1, frames*T, H, D] <paramref name="src"/> into <paramref name="dst"/>, frames at temporal positions position, position+1, ...</summary>
    /// <exception cref="ZoetropeStreamException">The frames pass the 1024-position table.</exception>
    public static void Rotate(DiTConfig c, Tensor table, Tensor src, Tensor dst, int frames, long position) =>
        RopeApply.Run(src, table, dst, HeadLayout.Nhd, Grid(c, frames, position));
}
