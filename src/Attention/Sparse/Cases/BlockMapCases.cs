using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>
/// block_map's cases: top-k and CDF, sinks and the diagonal kept or not, partial last blocks,
/// GQA, NHD, causal and block-causal masks (window and sinks), 256-row query blocks. Bench:
/// SLA's setup (B=2, H=16, N=32,760, D=128) at 10% and 5%, and Wan's block-causal stream.
/// Emulator: a block plus one in both directions (two query blocks, the last of one row; three
/// key blocks, the last of one key), GQA, NHD; a window without sinks; query blocks with no
/// candidate at all (causal, Nq > Nkv: counts 0, also checked on ilgpu-cpu).
/// </summary>
internal static class BlockMapCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, layout, mask);

    /// <summary>The table.</summary>
    public static OpCaseTable<BlockMap.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F32, G(1, 2, 2, 256, 640, 64, HeadLayout.Hnd, AttentionMask.None), SparseBlocks.Default, BlockSelection.TopK(0.3f, keepDiagonal: false))),
            new(new(DType.F16, G(2, 2, 1, 300, 300, 64, HeadLayout.Nhd, AttentionMask.None), SparseBlocks.Default, BlockSelection.Cdf(0.6f, sinkKeys: 64))),
            new(new(DType.BF16, G(1, 2, 2, 384, 500, 128, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(128, 64), BlockSelection.TopK(0.25f))),
            new(new(DType.F32, G(1, 4, 2, 512, 768, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(128, 3, 1)), new SparseBlocks(256, 128), BlockSelection.TopK(0.5f, sinkKeys: 1))),
            new(new(DType.F16, G(1, 2, 2, 200, 450, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(96, 2)), SparseBlocks.Default, BlockSelection.Cdf(0.9f, keepDiagonal: false))),
            new(new(DType.F16, G(1, 2, 1, 129, 129, 64, HeadLayout.Nhd, AttentionMask.Causal), SparseBlocks.Default, BlockSelection.TopK(0.5f)), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 2, 80, 200, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(24, 1)), new SparseBlocks(64, 64), BlockSelection.Cdf(0.7f, keepDiagonal: false)), CaseUse.Emulator),
            new(new(DType.F32, G(1, 1, 1, 130, 60, 64, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(64, 64), BlockSelection.TopK(0.5f)), CaseUse.Check | CaseUse.Emulator),
            .. new[] { 0.1f, 0.05f }.Select(r => new OpCase<BlockMap.Params>(
                new(DType.BF16, G(2, 16, 16, 32760, 32760, 128, HeadLayout.Hnd, AttentionMask.None), SparseBlocks.Default, BlockSelection.TopK(r)), CaseUse.Bench)),
            new(new(DType.BF16, G(1, 12, 12, 4680, 32760, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(4680)), SparseBlocks.Default, BlockSelection.TopK(0.1f, sinkKeys: 4680)), CaseUse.Bench),
        ],
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 22).WithEmulated(1 << 20),
        Tolerances = ToleranceTable.Rounding,
    };
}
