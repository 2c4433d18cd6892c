using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>
/// sage_quantize's cases: q per block (128), per warp (32, 16) and k smoothed (64), f16/bf16/f32,
/// both layouts, D 64 and 128, token counts that are never a block multiple, and k over more than
/// 8 x 64 tokens (every mean run holds chunks) and over one chunk (the mean written directly).
/// Bench: SLA's setup (B=2, H=16, N=32,760, D=128), q and k, and Wan-1.3B's stream chunk (NHD).
/// Emulator: a partial block in NHD with 16-byte packs, the smoothed k over 9 chunks, D 64 odd N.
/// </summary>
internal static class SageQuantizeCases
{
    private static SageQuantize.Params Q(DType t, int b, int h, int n, int d, HeadLayout l, int rows = 128) => SageQuantize.Params.Query(t, b, h, n, d, l, rows);

    private static SageQuantize.Params K(DType t, int b, int h, int n, int d, HeadLayout l) => SageQuantize.Params.Key(t, b, h, n, d, l);

    /// <summary>The table.</summary>
    public static OpCaseTable<SageQuantize.Params> Table { get; } = new()
    {
        Cases =
        [
            new(Q(DType.F16, 1, 2, 130, 64, HeadLayout.Hnd)),
            new(Q(DType.BF16, 2, 3, 45, 128, HeadLayout.Nhd, rows: 32)),
            new(Q(DType.F32, 1, 2, 40, 64, HeadLayout.Hnd, rows: 16)),
            new(K(DType.BF16, 1, 2, 600, 64, HeadLayout.Hnd)),
            new(K(DType.F16, 2, 2, 45, 128, HeadLayout.Nhd)),
            new(K(DType.F32, 1, 3, 130, 64, HeadLayout.Nhd)),
            new(Q(DType.BF16, 1, 4, 100, 128, HeadLayout.Nhd, rows: 32), CaseUse.Check | CaseUse.Emulator),
            new(K(DType.F16, 1, 2, 577, 64, HeadLayout.Hnd), CaseUse.Check | CaseUse.Emulator),
            new(K(DType.BF16, 2, 3, 65, 128, HeadLayout.Nhd), CaseUse.Emulator),
            new(Q(DType.F16, 1, 2, 33, 64, HeadLayout.Hnd, rows: 16), CaseUse.Emulator),
            new(Q(DType.BF16, 2, 16, 32760, 128, HeadLayout.Hnd, rows: 32), CaseUse.Bench),
            new(K(DType.BF16, 2, 16, 32760, 128, HeadLayout.Hnd), CaseUse.Bench),
            new(Q(DType.BF16, 1, 12, 4680, 128, HeadLayout.Nhd, rows: 32), CaseUse.Bench),
            new(K(DType.BF16, 1, 12, 32760, 128, HeadLayout.Nhd), CaseUse.Bench),
        ],
        Tolerances = ToleranceTable.Rounding,
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 22).WithEmulated(1 << 20),
    };
}
