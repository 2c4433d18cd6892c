using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention;

/// <summary>
/// softmax's cases: every float dtype; rows of 1, of fewer than a warp, of a non-multiple of
/// 32, and of many warps' worth; N=1 rows; the attention-score shape for benches. Masked cases
/// (every dtype, ragged rows) put -inf at every 7th and 32nd element and mask every third row
/// fully (<see cref="Softmax"/>'s contract). Emulator cases sit at the CUDA kernel's edges
/// (kernels/attention/softmax_policy.h): rows of a warp minus and plus one, the last warp-per-row
/// length (1024) and the first block-per-row one (1025), and a partial last block of 4 rows.
/// </summary>
internal static class SoftmaxCases
{
    private const CaseUse Everywhere = CaseUse.Check | CaseUse.Emulator;

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
            // Masked logits, on every backend: cheap, and the -inf rows are the contract's edge.
            new OpCase<Softmax.Params>(new(DType.F32, 4, 256), Everywhere | CaseUse.Masked),
            new OpCase<Softmax.Params>(new(DType.F32, 5, 33), Everywhere | CaseUse.Masked),
            new OpCase<Softmax.Params>(new(DType.F16, 7, 31), Everywhere | CaseUse.Masked),
            new OpCase<Softmax.Params>(new(DType.BF16, 3, 100), Everywhere | CaseUse.Masked),
            new OpCase<Softmax.Params>(new(DType.BF16, 2, 1025), Everywhere | CaseUse.Masked),
            new OpCase<Softmax.Params>(new(DType.F16, 5, 1024), CaseUse.Emulator),
            new OpCase<Softmax.Params>(new(DType.F32, 3, 1025), CaseUse.Emulator),
            new OpCase<Softmax.Params>(new(DType.BF16, 4680, 4680), CaseUse.Bench),
            new OpCase<Softmax.Params>(new(DType.F32, 4680, 32760), CaseUse.Bench),
        ],
        // f32: exp on a GPU may be ex2.approx-based (a few ulps per term) and the sum runs over up
        // to 4K terms; narrow types: the output rounding dominates.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5)),
    };
}
