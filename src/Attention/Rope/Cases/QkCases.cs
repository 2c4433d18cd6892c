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

    public static readonly QkGeometry[] Bench =
    [
        new(1, 12, 128, new RopeGrid(3, 30, 52, 18), RopeSplit.Wan128, WanRopeTable.Positions, 1e-6f),
        new(1, 12, 128, new RopeGrid(21, 30, 52, 0), RopeSplit.Wan128, WanRopeTable.Positions, 1e-6f),
    ];
}
