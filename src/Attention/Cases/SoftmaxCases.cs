using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention;

/// <summary>
/// softmax's cases: every float dtype; rows of 1, of fewer than a warp, of a non-multiple of
/// 32, and of many warps' worth; N=1 rows; the attention-score shape for benches.
/// </summary>
public static class SoftmaxCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<Softmax.Params> Table { get; } = new()
    {
        Cases =
        [
            .. new[] { DType.F32, DType.F16, DType.BF16 }.SelectMany(d => new[]
            {
                new OpCase<Softmax.Params>(new(d, 1, 1)),
                new OpCase<Softmax.Params>(new(d, 3, 7)),
                new OpCase<Softmax.Params>(new(d, 5, 33)),
                new OpCase<Softmax.Params>(new(d, 17, 100)),
                new OpCase<Softmax.Params>(new(d, 2, 1000)),
            }),
            new OpCase<Softmax.Params>(new(DType.F32, 64, 4097)),
            new OpCase<Softmax.Params>(new(DType.BF16, 4680, 4680), CaseUse.Bench),
            new OpCase<Softmax.Params>(new(DType.F32, 4680, 32760), CaseUse.Bench),
        ],
        // f32: exp on a GPU may be ex2.approx-based (a few ulps per term) and the sum runs over up
        // to 4K terms; narrow types: the output rounding dominates.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
    };
}
