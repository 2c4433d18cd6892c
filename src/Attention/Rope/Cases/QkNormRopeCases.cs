using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>
/// qk_norm_rope's cases: every float dtype over <see cref="QkCases"/> in the [B, H, N, D] layout,
/// bf16 and f32 in [B, N, H, D] (nhd: the streaming engine's KV-cache pools).
/// </summary>
internal static class QkNormRopeCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<QkNormRope.Params> Table { get; } = new()
    {
        Cases =
        [
            .. new[] { DType.F32, DType.F16, DType.BF16 }.SelectMany(d => QkCases.Check.Select(g => new OpCase<QkNormRope.Params>(new(d, g)))),
            .. new[] { DType.F32, DType.BF16 }.SelectMany(d => QkCases.Check.Select(g => new OpCase<QkNormRope.Params>(new(d, QkCases.Nhd(g))))),
            new OpCase<QkNormRope.Params>(new(DType.BF16, QkCases.Emulator[0]), CaseUse.Emulator),
            new OpCase<QkNormRope.Params>(new(DType.F32, QkCases.Emulator[1]), CaseUse.Emulator),
            new OpCase<QkNormRope.Params>(new(DType.F16, QkCases.Emulator[2]), CaseUse.Emulator),
            new OpCase<QkNormRope.Params>(new(DType.BF16, QkCases.Nhd(QkCases.Emulator[0])), CaseUse.Emulator),
            new OpCase<QkNormRope.Params>(new(DType.F16, QkCases.Nhd(QkCases.Emulator[1])), CaseUse.Emulator),
            .. QkCases.Bench.Select(g => new OpCase<QkNormRope.Params>(new(DType.BF16, g), CaseUse.Bench)),
            new OpCase<QkNormRope.Params>(new(DType.BF16, QkCases.Nhd(QkCases.Bench[0])), CaseUse.Bench),
        ],
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
    };
}
