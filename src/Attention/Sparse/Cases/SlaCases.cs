using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>
/// sla's cases: both variants, every phi, with and without bias, random LUTs of density 0.25..0.75,
/// partial blocks, GQA, NHD, causal and block-causal masks (block-aligned, where the linear
/// branch's block granularity is exact, and not). Bench: SLA's setup (B=2, H=16, N=32,760, D=128)
/// at 90% and 95% sparsity, both variants.
/// Emulator: a tile plus one in both directions with GQA, causal and rows with no sparse key; NHD,
/// a block-causal window with a sink, no bias; 33 key blocks (runs across a ballot window).
/// precision=sage (SageSLA): f16 and bf16, P.V fp16 and fp8, both variants, no mask and block-causal,
/// GQA and NHD, k over more than one 64-token chunk (the smoothing mean's two passes); the oracle is
/// the block-sparse Sage emulation over sage_quantize's codes, so the tolerance is sage_attention's
/// (pv=fp8 rounds P and V to e4m3 the same way in both, leaving fp32-vs-double noise).
/// </summary>
internal static class SlaCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, layout, mask);

    private static readonly AttentionGeometry Setup = G(2, 16, 16, 32760, 32760, 128, HeadLayout.Hnd, AttentionMask.None);

    /// <summary>The table.</summary>
    public static OpCaseTable<Sla.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F32, G(1, 2, 2, 130, 260, 64, HeadLayout.Hnd, AttentionMask.None), new SparseBlocks(64, 64), FeatureMap.Softmax, SlaVariant.AllKeys)),
            new(new(DType.F32, G(1, 2, 1, 128, 192, 64, HeadLayout.Nhd, AttentionMask.None), SparseBlocks.Default, FeatureMap.Elu1, SlaVariant.Complement, Density: 0.25)),
            new(new(DType.F16, G(1, 2, 2, 128, 128, 64, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(64, 64), FeatureMap.Relu, SlaVariant.Complement, Bias: false, Density: 0.75), CaseUse.Check | CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 128, 240, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(128, 2, 1)), SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.Complement)),
            new(new(DType.F32, G(1, 2, 2, 192, 192, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(96, 0, 0)), SparseBlocks.Default, FeatureMap.Elu1, SlaVariant.AllKeys)),
            new(new(DType.F16, G(1, 2, 1, 65, 130, 64, HeadLayout.Hnd, AttentionMask.Causal), new SparseBlocks(64, 64), FeatureMap.Softmax, SlaVariant.Complement), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 64, 129, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(32, 2, 1)), new SparseBlocks(64, 64), FeatureMap.Elu1, SlaVariant.AllKeys, Bias: false), CaseUse.Emulator),
            // sm_90a's sparse branch with the residual (128-row query blocks, 64-key blocks), causal with GQA.
            new(new(DType.F16, G(1, 2, 1, 130, 300, 64, HeadLayout.Hnd, AttentionMask.Causal), SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.Complement, Density: 0.5), CaseUse.Emulator),
            // 33 key blocks: candidate runs (a sink, then a window crossing the 32-block ballot window of
            // sla.cu's term builder) and the listed blocks' subtraction, as at Wan's lengths.
            new(new(DType.BF16, G(1, 1, 1, 64, 2112, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(64, 8, 1)), new SparseBlocks(64, 64), FeatureMap.Softmax, SlaVariant.Complement, Density: 0.25), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 2, 128, 256, 64, HeadLayout.Hnd, AttentionMask.None), new SparseBlocks(64, 64), FeatureMap.Softmax, SlaVariant.AllKeys,
                Precision: SlaPrecision.Sage, Pv: SagePv.Fp16)),
            new(new(DType.BF16, G(1, 2, 1, 128, 128, 128, HeadLayout.Nhd, AttentionMask.None), SparseBlocks.Default, FeatureMap.Elu1, SlaVariant.Complement,
                Precision: SlaPrecision.Sage, Pv: SagePv.Fp8)),
            new(new(DType.F16, G(1, 2, 2, 192, 192, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(64, 0, 0)), new SparseBlocks(64, 64), FeatureMap.Relu,
                SlaVariant.Complement, Bias: false, Precision: SlaPrecision.Sage, Pv: SagePv.Fp8), CaseUse.Check | CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 2, 65, 130, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(64, 2, 1)), new SparseBlocks(64, 64), FeatureMap.Softmax,
                SlaVariant.AllKeys, Precision: SlaPrecision.Sage, Pv: SagePv.Fp16), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 1, 64, 129, 128, HeadLayout.Hnd, AttentionMask.None), new SparseBlocks(64, 64), FeatureMap.Elu1, SlaVariant.AllKeys,
                Density: 0.75, Precision: SlaPrecision.Sage, Pv: SagePv.Fp8), CaseUse.Emulator),
            // Sage on sm_90a (ZOETROPE_EMU_SM=90: 128-row query blocks): two of them, causal, FP8 P·V over
            // 64-key halves; D 128 with 16-bit P·V.
            new(new(DType.BF16, G(1, 2, 1, 130, 200, 64, HeadLayout.Nhd, AttentionMask.Causal), SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.Complement,
                Density: 0.5, Precision: SlaPrecision.Sage, Pv: SagePv.Fp8), CaseUse.Emulator),
            new(new(DType.F16, G(1, 1, 1, 128, 128, 128, HeadLayout.Hnd, AttentionMask.None), SparseBlocks.Default, FeatureMap.Elu1, SlaVariant.AllKeys,
                Precision: SlaPrecision.Sage, Pv: SagePv.Fp16), CaseUse.Emulator),
            .. new[] { 0.1, 0.05 }.SelectMany(d => new OpCase<Sla.Params>[]
            {
                new(new(DType.BF16, Setup, SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.AllKeys, Density: d), CaseUse.Bench),
                new(new(DType.BF16, Setup, SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.Complement, Density: d), CaseUse.Bench),
                new(new(DType.BF16, Setup, SparseBlocks.Default, FeatureMap.Softmax, SlaVariant.AllKeys, Density: d, Precision: SlaPrecision.Sage), CaseUse.Bench),
            }),
        ],
        // Emulated: the sparse branch's work plus the linear branch's D x (D + 1) states per block.
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 25).WithEmulated(1 << 25),
        // The 1e-3 for f32 (the linear branch sums in f32 from prefix differences); f16/bf16: as attention.
        Tolerances = ToleranceTable.Rounding
            .With(DType.F32, new Tolerance(1e-3))
            .With(DType.F16, new Tolerance(4e-3))
            .With(DType.BF16, new Tolerance(1.2e-2)),
    };
}
