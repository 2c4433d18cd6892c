using Zoetrope.Runtime;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// The shape of a QK-norm + RoPE problem: x [B, N, H*D] from the q or k projection (N tokens on
/// the RoPE grid), a norm weight over the full hidden dim H*D, the RoPE split and table size.
/// </summary>
/// <param name="Batch">B.</param>
/// <param name="Heads">H.</param>
/// <param name="HeadDim">D.</param>
/// <param name="Grid">Token grid and frame offset.</param>
/// <param name="Split">RoPE dims per axis.</param>
/// <param name="Positions">Rows of the RoPE table.</param>
/// <param name="Eps">RMSNorm epsilon (1e-6 in Wan).</param>
/// <param name="Layout">Layout of the output (and of the int8 op's q).</param>
public readonly record struct QkGeometry(int Batch, int Heads, int HeadDim, RopeGrid Grid, RopeSplit Split, int Positions, float Eps, HeadLayout Layout = HeadLayout.Hnd)
{
    /// <summary>Tokens N.</summary>
    public long Tokens => Grid.Tokens;

    /// <summary>Hidden size H*D (the norm's width).</summary>
    public int Dim => Heads * HeadDim;

    /// <summary>Shape of x.</summary>
    public Shape Input => new(Batch, Tokens, Dim);

    /// <summary>Shape of the per-head output: [B, H, N, D] (hnd) or [B, N, H, D] (nhd).</summary>
    public Shape Output => Layout == HeadLayout.Hnd ? new(Batch, Heads, Tokens, HeadDim) : new(Batch, Tokens, Heads, HeadDim);

    /// <summary>Shape of one value per (token, head) in the output's order: [B, H, N] or [B, N, H].</summary>
    public Shape PerTokenHead => Layout == HeadLayout.Hnd ? new(Batch, Heads, Tokens) : new(Batch, Tokens, Heads);

    /// <summary>Index of element (b, h, n, d) of the output.</summary>
    public long Index(long b, long h, long n, long d) => RopeReference.Index(Layout, Heads, Tokens, HeadDim, b, h, n, d);

    /// <summary>A short label.</summary>
    public string Label => FormattableString.Invariant(
        $"B={Batch} N={Grid.Frames}x{Grid.Height}x{Grid.Width}+{Grid.FrameOffset} H={Heads} D={HeadDim} split={Split}{(Layout == HeadLayout.Nhd ? " nhd" : string.Empty)}");

    /// <summary>Throws an ArgumentException on inconsistent geometry (split vs head dim, grid vs table).</summary>
    public void Validate()
    {
        if (Batch < 0 || Heads <= 0 || Layout is not (HeadLayout.Hnd or HeadLayout.Nhd))
        {
            throw new ArgumentException($"QK-norm geometry {Label}: batch must be >= 0, heads > 0 and the layout hnd or nhd", nameof(Heads));
        }
        Split.Validate(HeadDim);
        Grid.Validate(Tokens, Positions);
    }

    /// <summary>The geometry of x [B, N, dim] with <paramref name="heads"/> heads, a table, a grid and the output's layout.</summary>
    /// <exception cref="ArgumentException">dim is not a multiple of heads, or the ranks are wrong; the message names both shapes.</exception>
    public static QkGeometry Of(Tensor x, Tensor table, int heads, RopeGrid grid, RopeSplit? split, float eps, HeadLayout layout = HeadLayout.Hnd)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(table);
        if (x.Rank != 3 || table.Rank != 3 || heads <= 0 || x.Shape[2] % heads != 0)
        {
            throw new ArgumentException(
                $"QK-norm: x '{x.Name}' {x.Shape} must be [B, N, H*D] with dim divisible by {heads} heads, table '{table.Name}' {table.Shape} [positions, D/2, 2]", x.Name);
        }
        int d = (int)(x.Shape[2] / heads);
        return new QkGeometry((int)x.Shape[0], heads, d, grid, split ?? RopeSplit.Wan(d), (int)table.Shape[0], eps, layout);
    }
}
