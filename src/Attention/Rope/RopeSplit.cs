namespace Zoetrope.Attention.Rope;

/// <summary>
/// How a head's dimensions divide between the three RoPE axes (time, height, width), in
/// elements; each part is a whole number of (x[2i], x[2i+1]) pairs. Wan's rule for head dim d:
/// d - 4*(d/6) for time, 2*(d/6) each for height and width (d/6 floored): 44/42/42 at d = 128.
/// </summary>
/// <param name="TimeDims">Elements rotated by the frame index.</param>
/// <param name="HeightDims">Elements rotated by the row.</param>
/// <param name="WidthDims">Elements rotated by the column.</param>
public readonly record struct RopeSplit(int TimeDims, int HeightDims, int WidthDims)
{
    /// <summary>Wan2.1's split of a 128-wide head: 44 / 42 / 42.</summary>
    public static RopeSplit Wan128 { get; } = new(44, 42, 42);

    /// <summary>Wan's rule for any even head dim.</summary>
    /// <exception cref="ArgumentException">The head dim is odd or below 6.</exception>
    public static RopeSplit Wan(int headDim)
    {
        if (headDim < 6 || headDim % 2 != 0)
        {
            throw new ArgumentException($"3D RoPE needs an even head dim of at least 6 (pairs for three axes), got {headDim}", nameof(headDim));
        }
        int sixth = headDim / 6;
        return new RopeSplit(headDim - (4 * sixth), 2 * sixth, 2 * sixth);
    }

    /// <summary>The head dim this split covers.</summary>
    public int HeadDim => TimeDims + HeightDims + WidthDims;

    /// <summary>Pairs rotated by the frame index.</summary>
    public int TimePairs => TimeDims / 2;

    /// <summary>Pairs rotated by the row.</summary>
    public int HeightPairs => HeightDims / 2;

    /// <summary>Throws unless the split is made of whole pairs and covers <paramref name="headDim"/>.</summary>
    /// <exception cref="ArgumentException">Odd parts, or a split that does not sum to the head dim.</exception>
    public void Validate(int headDim)
    {
        if (TimeDims % 2 != 0 || HeightDims % 2 != 0 || WidthDims % 2 != 0 || TimeDims <= 0 || HeightDims <= 0 || WidthDims <= 0)
        {
            throw new ArgumentException($"RoPE split {this} must be three positive even parts (rotary pairs)", nameof(headDim));
        }
        if (HeadDim != headDim)
        {
            throw new ArgumentException($"RoPE split {TimeDims}/{HeightDims}/{WidthDims} covers {HeadDim} dims, the head dim is {headDim}", nameof(headDim));
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{TimeDims}/{HeightDims}/{WidthDims}";
}
