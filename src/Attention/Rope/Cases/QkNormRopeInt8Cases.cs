using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// qk_norm_rope_int8's cases: Sage Q per block (128 rows) and per warp (32), K smoothed (64), and
/// a 16-row path, over <see cref="QkCases"/> (token counts 12, 45 and 1: never a block multiple).
/// </summary>
public static class QkNormRopeInt8Cases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<QkNormRopeInt8.Params> Table { get; } = new()
    {
        Cases =
        [
            .. QkCases.Check.SelectMany(g => new[]
            {
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, g, perWarp: false)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F32, g, perWarp: true)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, g)),
            }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F16, QkCases.Check[1], perWarp: true) with { BlockRows = 16 }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, QkCases.Emulator[2], perWarp: true), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.F16, QkCases.Emulator[3]), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F32, QkCases.Emulator[0], perWarp: false) with { BlockRows = 16 }, CaseUse.Emulator),
            .. QkCases.Bench.SelectMany(g => new[]
            {
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, g, perWarp: false), CaseUse.Bench),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, g), CaseUse.Bench),
            }),
        ],
        Tolerances = ToleranceTable.Rounding,
        // The 45-token cases are the ones whose last block is partial: keep them on ilgpu-cpu.
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 18).WithEmulated(1 << 18),
    };
}
