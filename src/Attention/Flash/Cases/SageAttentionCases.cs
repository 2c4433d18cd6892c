using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>
/// sage_attention's cases: both P·V modes, per-block (128) and per-warp (32, 16) Q scales, both
/// layouts, GQA, every mask (blocks not multiples of the tile), D 64 and 128, the LSE with the
/// smoothing term. Bench: SageAttention's setup and Wan's block-causal stream, as for attention.
/// Emulator (the flash kernel's tiles, as attention's): Nq and Nkv of a tile plus one with GQA and
/// the smoothing LSE; rows with no visible key (LSE -inf) in NHD with FP8 P·V; a window that
/// skips a key tile. Not on ilgpu-cpu: its lane-exact INT8 MMA takes seconds per case there.
/// k_rows=1 (a K scale per key token, the streaming KV cache's): both types, both P·V modes, both
/// layouts (nhd: the scales strided by Hkv), Nkv not a multiple of 64 (the last tile's scales
/// zero-filled and masked), GQA, causal and block-causal masks; two on the emulator (hnd f16
/// P·V with the smoothing LSE, nhd bf16 fp8 with GQA and a causal mask). Bench: Wan's stream
/// with per-token K scales (frames of 1560 keys). Two more on the emulator at the sm_90a kernel's
/// tiles (ZOETROPE_EMU_SM=90): 130 query rows (two CTAs) with q_rows 128, D 128, 16-bit P·V and a
/// block-causal mask; 300 keys (three tiles) of D 64 FP8 P·V with per-key K scales.
/// </summary>
internal static class SageAttentionCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, layout, mask);

    /// <summary>The table.</summary>
    public static OpCaseTable<SageAttention.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F16, G(1, 2, 2, 40, 40, 64, HeadLayout.Hnd, AttentionMask.None), 128, SagePv.Fp16, Lse: true)),
            new(new(DType.BF16, G(1, 2, 2, 40, 40, 64, HeadLayout.Hnd, AttentionMask.None), 32, SagePv.Fp8, Lse: true, HasKMean: true)),
            new(new(DType.BF16, G(2, 2, 1, 24, 70, 64, HeadLayout.Nhd, AttentionMask.Causal), 16, SagePv.Fp8)),
            new(new(DType.F16, G(1, 4, 2, 33, 33, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(7, 2, 1)), 32, SagePv.Fp16, Lse: true, HasKMean: true)),
            new(new(DType.F16, G(1, 2, 2, 12, 100, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(12, 3, 1)), 128, SagePv.Fp8, Lse: true)),
            new(new(DType.BF16, G(1, 2, 2, 1, 65, 128, HeadLayout.Nhd, AttentionMask.None), 16, SagePv.Fp8)),
            new(new(DType.F16, G(1, 2, 1, 65, 65, 64, HeadLayout.Hnd, AttentionMask.None), 32, SagePv.Fp16, Lse: true, HasKMean: true), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 4, 2, 80, 17, 128, HeadLayout.Nhd, AttentionMask.Causal), 16, SagePv.Fp8, Lse: true), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 2, 100, 200, 64, HeadLayout.Hnd, AttentionMask.BlockCausal(16, 1, 1)), 64, SagePv.Fp8), CaseUse.Emulator),
            new(new(DType.F16, G(1, 2, 2, 40, 100, 64, HeadLayout.Nhd, AttentionMask.None), 32, SagePv.Fp16, KRows: 1)),
            new(new(DType.BF16, G(1, 2, 2, 33, 130, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(26, 2, 1)), 16, SagePv.Fp8, Lse: true, KRows: 1)),
            new(new(DType.F16, G(1, 2, 1, 70, 70, 64, HeadLayout.Hnd, AttentionMask.None), 32, SagePv.Fp16, Lse: true, HasKMean: true, KRows: 1), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 1, 50, 90, 128, HeadLayout.Nhd, AttentionMask.Causal), 16, SagePv.Fp8, Lse: true, KRows: 1), CaseUse.Emulator),
            // The sm_90a kernel's tiles (kernels/hopper/flash_sm90_policy.h: 128 query rows per CTA,
            // 128-key tiles): two row blocks with q_rows 128 and a block-causal mask, D 128 with 16-bit
            // P·V; D 64 FP8 with per-key K scales over three key tiles (the last one partial), GQA.
            new(new(DType.F16, G(1, 1, 1, 130, 100, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(40, 2, 1)), 128, SagePv.Fp16, Lse: true, HasKMean: true), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 1, 20, 300, 64, HeadLayout.Nhd, AttentionMask.None), 16, SagePv.Fp8, Lse: true, KRows: 1), CaseUse.Emulator),
            .. new[] { 1024, 4096, 8192, 16384, 32768 }.SelectMany(n => new OpCase<SageAttention.Params>[]
            {
                new(new(DType.BF16, G(4, 32, 32, n, n, 128, HeadLayout.Hnd, AttentionMask.None), 32, SagePv.Fp8), CaseUse.Bench),
                new(new(DType.BF16, G(4, 32, 32, n, n, 128, HeadLayout.Hnd, AttentionMask.Causal), 32, SagePv.Fp8), CaseUse.Bench),
                new(new(DType.BF16, G(4, 32, 32, n, n, 128, HeadLayout.Hnd, AttentionMask.None), 32, SagePv.Fp16), CaseUse.Bench),
            }),
            .. new[] { 4680, 18720, 32760 }.Select(nkv =>
                new OpCase<SageAttention.Params>(new(DType.BF16, G(1, 12, 12, 4680, nkv, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(4680)), 32, SagePv.Fp8), CaseUse.Bench)),
            new(new(DType.BF16, G(1, 12, 12, 4680, 32760, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(4680)), 32, SagePv.Fp8, KRows: 1), CaseUse.Bench),
        ],
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 22).WithEmulated(1 << 22),
        // pv=fp16 against the emulation (same quantized operands): the f16 P rounding and the output
        // rounding; pv=fp8 states its own tolerance on 'o' (SageAttention.Signature).
        Tolerances = ToleranceTable.Rounding
            .With(DType.F16, new Tolerance(4e-3))
            .With(DType.BF16, new Tolerance(1.2e-2)),
    };
}
