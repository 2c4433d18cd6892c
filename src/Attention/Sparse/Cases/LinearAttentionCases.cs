using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Sparse;

/// <summary>
/// linear_attention's cases: every phi, non-causal (Nq != Nkv, several segments) and causal
/// block-linear with blocks not dividing N, a carried state, GQA, NHD, every dtype. Bench: SLA's
/// setup (B=2, H=16, N=32,760, D=128) non-causal and Wan's 3-frame block-causal stream.
/// Emulator: a segment of 256 keys plus one (two segments, the last of one key) with GQA and NHD;
/// causal blocks that do not divide N with a carried state; D 128 (256-thread launches over
/// D x (D + 1) states).
/// </summary>
internal static class LinearAttentionCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout) =>
        new(b, h, hkv, nq, nkv, d, layout, AttentionMask.None);

    /// <summary>The table.</summary>
    public static OpCaseTable<LinearAttention.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F32, G(1, 2, 2, 40, 600, 64, HeadLayout.Hnd), FeatureMap.Elu1)),
            new(new(DType.F32, G(2, 2, 1, 70, 70, 64, HeadLayout.Nhd), FeatureMap.Relu, BlockTokens: 16)),
            new(new(DType.F32, G(1, 2, 2, 50, 50, 128, HeadLayout.Hnd), FeatureMap.Softmax, BlockTokens: 20, State: true)),
            new(new(DType.F16, G(1, 4, 2, 33, 300, 64, HeadLayout.Hnd), FeatureMap.Softmax, State: true)),
            new(new(DType.BF16, G(1, 2, 2, 48, 48, 64, HeadLayout.Nhd), FeatureMap.Elu1, BlockTokens: 12)),
            new(new(DType.F16, G(1, 2, 1, 17, 257, 64, HeadLayout.Nhd), FeatureMap.Elu1), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 2, 33, 33, 64, HeadLayout.Hnd), FeatureMap.Softmax, BlockTokens: 16, State: true), CaseUse.Emulator),
            new(new(DType.F32, G(1, 1, 1, 20, 20, 128, HeadLayout.Hnd), FeatureMap.Relu, BlockTokens: 7), CaseUse.Emulator),
            new(new(DType.BF16, G(2, 16, 16, 32760, 32760, 128, HeadLayout.Hnd), FeatureMap.Elu1), CaseUse.Bench),
            new(new(DType.BF16, G(1, 12, 12, 32760, 32760, 128, HeadLayout.Nhd), FeatureMap.Elu1, BlockTokens: 4680), CaseUse.Bench),
        ],
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 24).WithEmulated(1 << 22),
        // f32: the 1e-4 against the double oracle; f16/bf16: the output rounding.
        Tolerances = ToleranceTable.Rounding
            .With(DType.F32, new Tolerance(1e-4))
            .With(DType.F16, new Tolerance(2e-3))
            .With(DType.BF16, new Tolerance(1e-2)),
    };
}
