using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>
/// block_sparse_attention's cases: dense f32/f16/bf16 and Sage f16/FP8 P·V, random LUTs of
/// density 0.3..1, 256-row and 128-key blocks, partial last blocks, GQA, NHD, causal and
/// block-causal masks inside selected blocks. Bench: SLA's setup (B=2, H=16, N=32,760, D=128) at
/// 90% and 95% sparsity (density 0.1, 0.05), dense bf16 and Sage FP8, and Wan's block-causal stream.
/// Emulator (the flash kernel's 64-row CTAs and 64-key tiles; blocks are whole tiles): rows and
/// whole query blocks with no visible key (causal, Nq > Nkv, a random LUT: also checked on
/// ilgpu-cpu); Sage FP8 with GQA, NHD, 128-key blocks and a key tile plus one; D 128 with a window.
/// Sage with k_rows=1 (a K scale per key token): f16 and bf16, fp16 and FP8 P·V, hnd and nhd, Nkv
/// not a multiple of 64; on the emulator nhd bf16 FP8 with GQA and hnd f16 fp16 with a causal mask.
/// </summary>
internal static class BlockSparseAttentionCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, layout, mask);

    private static readonly AttentionGeometry Sla = G(2, 16, 16, 32760, 32760, 128, HeadLayout.Hnd, AttentionMask.None);

    /// <summary>The table.</summary>
    public static OpCaseTable<BlockSparseAttention.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F32, G(1, 2, 2, 130, 260, 64, HeadLayout.Hnd, AttentionMask.None), new SparseBlocks(64, 64), Density: 0.5)),
            new(new(DType.F16, G(1, 2, 1, 128, 128, 64, HeadLayout.Nhd, AttentionMask.Causal), SparseBlocks.Default, Density: 0.75)),
            new(new(DType.BF16, G(1, 1, 1, 128, 256, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(96, 2, 1)), new SparseBlocks(128, 128), Density: 0.6)),
            new(new(DType.F16, G(1, 2, 2, 100, 200, 64, HeadLayout.Hnd, AttentionMask.None), new SparseBlocks(64, 64), SparsePrecision.SageFp16, 32, 0.4)),
            new(new(DType.BF16, G(1, 2, 2, 128, 256, 64, HeadLayout.Nhd, AttentionMask.Causal), new SparseBlocks(64, 64), SparsePrecision.SageFp8, 16, 0.5)),
            new(new(DType.F16, G(1, 1, 1, 128, 200, 64, HeadLayout.Hnd, AttentionMask.None), SparseBlocks.Default, Density: 1.0)),
            new(new(DType.F16, G(1, 2, 1, 130, 65, 64, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(64, 64), Density: 0.5), CaseUse.Check | CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 1, 40, 129, 64, HeadLayout.Nhd, AttentionMask.None), new SparseBlocks(64, 128), SparsePrecision.SageFp8, 16, 0.5), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 65, 130, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(24, 2, 1)), new SparseBlocks(64, 64), Density: 0.7), CaseUse.Emulator),
            // sm_90a (ZOETROPE_EMU_SM=90): 128-row query blocks; 64-key blocks as halves of the kernel's
            // 128-key tiles (GQA, NHD, partial blocks), 192-key blocks straddling tiles with a window.
            new(new(DType.F16, G(1, 2, 1, 200, 300, 64, HeadLayout.Nhd, AttentionMask.None), SparseBlocks.Default, Density: 0.5), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 256, 250, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(96, 2, 1)), new SparseBlocks(128, 192), Density: 0.6), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 2, 100, 200, 64, HeadLayout.Nhd, AttentionMask.None), new SparseBlocks(64, 64), SparsePrecision.SageFp8, 32, 0.4, KRows: 1)),
            new(new(DType.BF16, G(1, 2, 2, 128, 190, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(38, 2, 1)), new SparseBlocks(128, 64), SparsePrecision.SageFp16, 16, 0.6, KRows: 1)),
            new(new(DType.BF16, G(1, 2, 1, 40, 129, 64, HeadLayout.Nhd, AttentionMask.None), new SparseBlocks(64, 128), SparsePrecision.SageFp8, 16, 0.5, KRows: 1), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 2, 70, 100, 64, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(64, 64), SparsePrecision.SageFp16, 32, 0.6, KRows: 1), CaseUse.Emulator),
            // Sage on sm_90a (ZOETROPE_EMU_SM=90): 128-row query blocks, two of them; FP8 P·V over 64-key
            // halves (GQA, NHD); per-key K scales and 16-bit P·V over 192-key blocks with a window.
            // FP8 in bf16: the sm_90a kernel rounds P against the running max of 128-key tiles, the
            // oracle of 64-key ones (the mma.sync kernel's), which f16's 4e-3 does not absorb (5e-3 here;
            // 2e-4 against an oracle of 128-key tiles).
            new(new(DType.BF16, G(1, 2, 1, 130, 200, 64, HeadLayout.Nhd, AttentionMask.None), SparseBlocks.Default, SparsePrecision.SageFp8, 32, 0.5), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 128, 190, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(38, 2, 1)), new SparseBlocks(128, 192), SparsePrecision.SageFp16, 16, 0.6, KRows: 1), CaseUse.Emulator),
            .. new[] { 0.1, 0.05 }.SelectMany(d => new OpCase<BlockSparseAttention.Params>[]
            {
                new(new(DType.BF16, Sla, SparseBlocks.Default, Density: d), CaseUse.Bench),
                new(new(DType.BF16, Sla, SparseBlocks.Default, SparsePrecision.SageFp8, 32, d), CaseUse.Bench),
            }),
            new(new(DType.BF16, G(1, 12, 12, 4680, 32760, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(4680)), SparseBlocks.Default, Density: 0.1), CaseUse.Bench),
        ],
        // Emulated: up to SLA's cap (the sm_90a cases need several 128-row CTAs and 128-key tiles).
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 25).WithEmulated(1 << 25),
        // As attention and sage_attention (the same kernels over fewer tiles).
        Tolerances = ToleranceTable.Rounding
            .With(DType.F32, new Tolerance(1e-5))
            .With(DType.F16, new Tolerance(4e-3))
            .With(DType.BF16, new Tolerance(1.2e-2)),
    };
}
