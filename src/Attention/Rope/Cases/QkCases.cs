namespace Zoetrope.Attention.Rope;

/// <summary>
/// Geometries shared by the QK-norm tables: Wan's 128-wide heads (2 of them, 12 tokens on a
/// 2x2x3 grid, offset 5), the tiny model's 64-wide heads with tokens not a multiple of any
/// block, and one head of 12; Wan-1.3B's block (12 heads, 3 frames of 30x52 = 4,680 tokens) and
/// full sequence (32,760 tokens) for benches.
/// </summary>
internal static class QkCases
{
    public static readonly QkGeometry[] Check =
    [
        new(1, 2, 128, new RopeGrid(2, 2, 3, 5), RopeSplit.Wan128, 16, 1e-6f),
        new(2, 2, 64, new RopeGrid(3, 5, 3, 0), RopeSplit.Wan(64), 8, 1e-6f),
        new(1, 1, 12, new RopeGrid(1, 1, 1, 0), RopeSplit.Wan(12), 2, 1e-6f),
    ];

    // For the emulated device (kernels/rope: a warp per token row over all heads' rotary pairs, 4
    // rows per block; Sage blocks of 32 and 64 tokens): 5 rows of 3 x 64-wide heads (96 pairs, three
    // lane sweeps), 6 rows of 6 pairs (most lanes idle), and 33 and 65 tokens (a Sage block plus one).
    public static readonly QkGeometry[] Emulator =
    [
        new(1, 3, 64, new RopeGrid(1, 1, 5, 0), RopeSplit.Wan(64), 8, 1e-6f),
        new(2, 1, 12, new RopeGrid(1, 1, 3, 2), RopeSplit.Wan(12), 4, 1e-6f),
        new(1, 2, 64, new RopeGrid(1, 3, 11, 0), RopeSplit.Wan(64), 16, 1e-6f),
        new(1, 1, 64, new RopeGrid(1, 5, 13, 0), RopeSplit.Wan(64), 16, 1e-6f),
    ];

    /// <summary><paramref name="g"/> writing [B, N, H, D] (the streaming engine's KV-cache layout).</summary>
    public static QkGeometry Nhd(QkGeometry g) => g with { Layout = HeadLayout.Nhd };

    public static readonly QkGeometry[] Bench =
    [
        new(1, 12, 128, new RopeGrid(3, 30, 52, 18), RopeSplit.Wan128, WanRopeTable.Positions, 1e-6f),
        new(1, 12, 128, new RopeGrid(21, 30, 52, 0), RopeSplit.Wan128, WanRopeTable.Positions, 1e-6f),
    ];
}
