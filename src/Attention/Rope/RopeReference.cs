namespace Zoetrope.Attention.Rope;

/// <summary>The double-precision rotation the RoPE ops' references share (from the given table, like the kernels).</summary>
internal static class RopeReference
{
    public static (double X0, double X1) Rotate(double[] table, RopeGrid grid, RopeSplit split, long token, int pair, double x0, double x1)
    {
        var (t, r, c) = grid.Position(token);
        long pos = WanRopeTable.Axis(split, pair) switch { 0 => t, 1 => r, _ => c };
        long at = ((pos * (split.HeadDim / 2)) + pair) * 2;
        double cos = table[at];
        double sin = table[at + 1];
        return ((x0 * cos) - (x1 * sin), (x0 * sin) + (x1 * cos));
    }

    /// <summary>Index of (b, h, n, d) in a [B,H,N,D] or [B,N,H,D] tensor.</summary>
    public static long Index(HeadLayout layout, int heads, long tokens, int headDim, long b, long h, long n, long d) =>
        layout == HeadLayout.Hnd
            ? ((((b * heads) + h) * tokens) + n) * headDim + d
            : ((((b * tokens) + n) * heads) + h) * headDim + d;
}
