namespace Zoetrope.Attention.Rope;

/// <summary>
/// Where each token sits: tokens are laid out frame-major over a (frames, height, width) latent
/// grid (token n: frame n / (H*W), row (n / W) mod H, column n mod W), and the frame index is
/// shifted by <see cref="FrameOffset"/>: the block's absolute frame index under the absolute
/// policy, or its place in the cache under the cache-relative one.
/// </summary>
/// <param name="Frames">Latent frames in the sequence.</param>
/// <param name="Height">Patch rows per frame (30 at 480x832).</param>
/// <param name="Width">Patch columns per frame (52 at 480x832).</param>
/// <param name="FrameOffset">Added to the frame index.</param>
public readonly record struct RopeGrid(int Frames, int Height, int Width, int FrameOffset)
{
    /// <summary>Tokens covered.</summary>
    public long Tokens => (long)Frames * Height * Width;

    /// <summary>Throws unless the grid has <paramref name="tokens"/> tokens and stays inside a table of <paramref name="positions"/> positions.</summary>
    /// <exception cref="ArgumentException">A mismatch, or a position beyond the table (the absolute policy's length limit).</exception>
    public void Validate(long tokens, int positions)
    {
        if (Frames <= 0 || Height <= 0 || Width <= 0 || FrameOffset < 0)
        {
            throw new ArgumentException($"RoPE grid {this} needs positive extents and a non-negative frame offset", nameof(tokens));
        }
        if (Tokens != tokens)
        {
            throw new ArgumentException($"RoPE grid {Frames}x{Height}x{Width} has {Tokens} tokens, the tensor has {tokens}", nameof(tokens));
        }
        if (FrameOffset + Frames > positions || Height > positions || Width > positions)
        {
            throw new ArgumentException(
                $"RoPE positions run past the {positions}-entry table: frames {FrameOffset}..{FrameOffset + Frames - 1}, {Height} rows, {Width} columns " +
                "(under the absolute policy the sequence is that long at most; use the cache-relative policy for unbounded length)", nameof(tokens));
        }
    }

    /// <summary>(frame + offset, row, column) of token <paramref name="n"/>.</summary>
    public (long Time, long Row, long Col) Position(long n)
    {
        long hw = (long)Height * Width;
        return ((n / hw) + FrameOffset, n / Width % Height, n % Width);
    }
}
