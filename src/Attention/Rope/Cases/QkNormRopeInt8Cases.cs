using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// qk_norm_rope_int8's cases: Sage Q per block (128 rows) and per warp (32), K smoothed (64), and
/// a 16-row path, over <see cref="QkCases"/> (token counts 12, 45 and 1: never a block multiple);
/// the streaming engine's K: one scale per token and head, the mean computed or given, in both
/// layouts; Q and 64-row K writing [B, N, H, D]. Emulator: per-token K in nhd over two mean chunks
/// (65 tokens) and with a given mean, and 64-row K in nhd (a head's rows H*D apart).
/// </summary>
internal static class QkNormRopeInt8Cases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<QkNormRopeInt8.Params> Table { get; } = new()
    {
        Cases =
        [
            // A given-mean row first: the op contract (zoe ops, run-op's input check) takes each
            // tensor's role from the first case that has it, and 'mean' is an input in this mode
            // (an output when computed: run-op then makes it from the bound signature).
            .. QkCases.Check.SelectMany(g => new[]
            {
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.F32, g, meanGiven: true)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: false)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.F16, QkCases.Nhd(g), meanGiven: false)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, QkCases.Nhd(g), meanGiven: true)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, QkCases.Nhd(g))),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F32, QkCases.Nhd(g), perWarp: true)),
            }),
            .. QkCases.Check.SelectMany(g => new[]
            {
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, g, perWarp: false)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F32, g, perWarp: true)),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, g)),
            }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F16, QkCases.Check[1], perWarp: true) with { BlockRows = 16 }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.F16, QkCases.Nhd(QkCases.Check[1])) with { MeanGiven = true }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, QkCases.Emulator[2], perWarp: true), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.F16, QkCases.Emulator[3]), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.F32, QkCases.Emulator[0], perWarp: false) with { BlockRows = 16 }, CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.F16, QkCases.Nhd(QkCases.Emulator[3]), meanGiven: false), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, QkCases.Nhd(QkCases.Emulator[0]), meanGiven: true), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.F32, QkCases.Emulator[1], meanGiven: true), CaseUse.Emulator),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, QkCases.Nhd(QkCases.Emulator[2])), CaseUse.Emulator),
            .. QkCases.Bench.SelectMany(g => new[]
            {
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Query(DType.BF16, g, perWarp: false), CaseUse.Bench),
                new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.Key(DType.BF16, g), CaseUse.Bench),
            }),
            new OpCase<QkNormRopeInt8.Params>(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, QkCases.Nhd(QkCases.Bench[0]), meanGiven: true), CaseUse.Bench),
        ],
        Tolerances = ToleranceTable.Rounding,
        // The 45-token cases are the ones whose last block is partial: keep them on ilgpu-cpu.
        Caps = BackendCaps.Default.With(BackendKind.IlgpuCpu, 1 << 18).WithEmulated(1 << 18),
    };
}
