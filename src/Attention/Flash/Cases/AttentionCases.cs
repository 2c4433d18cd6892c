using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>
/// attention's cases. Correctness: every dtype, both layouts, GQA, Nq != Nkv (including more
/// queries than keys under causal: rows with no key), D 64 and 128, every mask with blocks, windows
/// and sinks that are not multiples of the 16 x 64 tile, N = 1. Bench: SageAttention's setup
/// (B=4, H=32, D=128, N 1K..32K, plain and causal) and Wan-1.3B's block-causal stream.
/// Emulator: at the CUDA kernel's tiles (kernels/attention/flash_policy.h: 64 query rows per CTA,
/// 16 per warp, 64-key tiles): Nq and Nkv of a tile plus and minus one, GQA, both layouts; rows
/// with no visible key (causal, Nq > Nkv: o = 0, LSE = -inf, also checked on ilgpu-cpu); a window
/// that skips a whole key tile and leaves a warp's rows fully masked in a visited one before
/// they see any key.
/// </summary>
internal static class AttentionCases
{
    private static AttentionGeometry G(int b, int h, int hkv, int nq, int nkv, int d, HeadLayout layout, AttentionMask mask) =>
        new(b, h, hkv, nq, nkv, d, layout, mask);

    /// <summary>The table.</summary>
    public static OpCaseTable<Attention.Params> Table { get; } = new()
    {
        Cases =
        [
            new(new(DType.F16, G(1, 2, 2, 40, 40, 64, HeadLayout.Hnd, AttentionMask.None), true)),
            new(new(DType.BF16, G(2, 2, 1, 24, 70, 64, HeadLayout.Nhd, AttentionMask.Causal))),
            new(new(DType.F16, G(1, 4, 2, 33, 33, 128, HeadLayout.Hnd, AttentionMask.BlockCausal(7, 2, 1)), true)),
            new(new(DType.BF16, G(1, 2, 2, 12, 100, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(12, 3, 1)), true)),
            new(new(DType.F32, G(1, 1, 1, 20, 12, 64, HeadLayout.Hnd, AttentionMask.Causal))),
            new(new(DType.F16, G(1, 2, 2, 1, 65, 128, HeadLayout.Nhd, AttentionMask.None), true)),
            new(new(DType.F16, G(1, 2, 1, 65, 65, 64, HeadLayout.Hnd, AttentionMask.None), true), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 2, 63, 127, 64, HeadLayout.Nhd, AttentionMask.Causal)), CaseUse.Emulator),
            new(new(DType.F16, G(1, 4, 2, 80, 17, 128, HeadLayout.Hnd, AttentionMask.Causal), true), CaseUse.Check | CaseUse.Emulator),
            new(new(DType.BF16, G(1, 2, 1, 100, 200, 64, HeadLayout.Nhd, AttentionMask.BlockCausal(16, 1)), true), CaseUse.Emulator),
            // The sm_90a kernel's tiles (kernels/hopper/flash_sm90_policy.h: 128 query rows per CTA, 128-key
            // tiles, a ring of 4 stages at D = 64 and 2 at D = 128): both rings wrap, a window + sinks skip a
            // whole 128-key tile, whole CTAs with no visible key (Nq > Nkv, causal), a last CTA of one row.
            new(new(DType.BF16, G(1, 1, 1, 33, 385, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(40, 2, 1)), true), CaseUse.Emulator),
            new(new(DType.F16, G(1, 1, 1, 16, 520, 64, HeadLayout.Hnd, AttentionMask.None), true), CaseUse.Emulator),
            new(new(DType.BF16, G(1, 1, 1, 300, 100, 64, HeadLayout.Hnd, AttentionMask.Causal), true), CaseUse.Emulator),
            new(new(DType.F16, G(1, 1, 1, 129, 129, 64, HeadLayout.Nhd, AttentionMask.Causal)), CaseUse.Emulator),
            .. new[] { 1024, 4096, 8192, 16384, 32768 }.SelectMany(n => new OpCase<Attention.Params>[]
            {
                new(new(DType.BF16, G(4, 32, 32, n, n, 128, HeadLayout.Hnd, AttentionMask.None)), CaseUse.Bench),
                new(new(DType.BF16, G(4, 32, 32, n, n, 128, HeadLayout.Hnd, AttentionMask.Causal)), CaseUse.Bench),
            }),
            .. new[] { 4680, 18720, 32760 }.Select(nkv =>
                new OpCase<Attention.Params>(new(DType.BF16, G(1, 12, 12, 4680, nkv, 128, HeadLayout.Nhd, AttentionMask.BlockCausal(4680))), CaseUse.Bench)),
        ],
        // ILGPU keeps P in fp32 and rounds once on output; the CUDA kernel rounds P to the input
        // type for the tensor cores (FlashAttention's error), which the f16/bf16 rows allow.
        // The engine's warps are slow on ILGPU's CPU accelerator, but these shapes take about a second.
        // The emulated device as ilgpu-cpu: a tile plus one in both directions is 2^21 flops, and
        // the interpreter's cost is per MMA / per lane instruction, not per flop.
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 22).WithEmulated(1 << 22),
        Tolerances = ToleranceTable.Rounding
            .With(DType.F32, new Tolerance(1e-5))
            .With(DType.F16, new Tolerance(3e-3))
            .With(DType.BF16, new Tolerance(1.2e-2)),
    };
}
