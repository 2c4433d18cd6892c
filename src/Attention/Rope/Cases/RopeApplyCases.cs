using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// rope_apply's cases: Wan's 128-wide head (44/42/42), the tiny model's 64 (24/20/20) and a
/// 12-wide head; both layouts; frame offsets 0 and 5; small tables (the check only needs the
/// positions it uses); Wan's cached K (12 heads, 21 frames of 30x52) for benches. Emulator
/// (kernels/rope/rope_apply.cu: 256-thread blocks over rotary pairs): 270 pairs (a block and 14)
/// in NHD, 384 in HND.
/// </summary>
internal static class RopeApplyCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<RopeApply.Params> Table { get; } = new()
    {
        Cases =
        [
            new OpCase<RopeApply.Params>(new(DType.F32, 1, 2, 128, HeadLayout.Hnd, new RopeGrid(2, 2, 3, 0), RopeSplit.Wan128, 16)),
            new OpCase<RopeApply.Params>(new(DType.BF16, 1, 2, 128, HeadLayout.Nhd, new RopeGrid(2, 2, 3, 5), RopeSplit.Wan128, 16)),
            new OpCase<RopeApply.Params>(new(DType.F16, 2, 3, 64, HeadLayout.Hnd, new RopeGrid(1, 3, 2, 5), RopeSplit.Wan(64), 8)),
            new OpCase<RopeApply.Params>(new(DType.F32, 1, 1, 12, HeadLayout.Nhd, new RopeGrid(3, 1, 1, 0), RopeSplit.Wan(12), 4)),
            new OpCase<RopeApply.Params>(new(DType.F16, 1, 3, 12, HeadLayout.Nhd, new RopeGrid(1, 3, 5, 2), RopeSplit.Wan(12), 8), CaseUse.Emulator),
            new OpCase<RopeApply.Params>(new(DType.BF16, 1, 2, 64, HeadLayout.Hnd, new RopeGrid(2, 1, 3, 0), RopeSplit.Wan(64), 8), CaseUse.Emulator),
            new OpCase<RopeApply.Params>(new(DType.BF16, 1, 12, 128, HeadLayout.Hnd, new RopeGrid(21, 30, 52, 0), RopeSplit.Wan128, WanRopeTable.Positions), CaseUse.Bench),
        ],
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-6)),
    };
}
