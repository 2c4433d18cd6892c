using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Elementwise;

/// <summary>
/// axpby's cases: every float dtype, sizes that are not multiples of a warp or a block
/// (1, 31, 4097), a 2-D shape, negative and zero scalars; the Wan activation shape for benches.
/// Emulator (kernels/elementwise: 256-thread blocks, 16-byte vectors and a scalar tail): one
/// vector past a block with a 3-element tail (f32), a full block of vectors and a 7-element tail
/// (bf16), fewer vectors than a block (f16).
/// </summary>
internal static class AxpbyCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<Axpby.Params> Table { get; } = new()
    {
        Cases =
        [
            .. FloatDTypes().SelectMany(d => new[]
            {
                new OpCase<Axpby.Params>(new(d, new Shape(1), 2f, -0.5f)),
                new OpCase<Axpby.Params>(new(d, new Shape(31), 1f, 1f)),
                new OpCase<Axpby.Params>(new(d, new Shape(4097), -1.25f, 0f)),
                new OpCase<Axpby.Params>(new(d, new Shape(33, 65), 0.5f, 3f)),
            }),
            new OpCase<Axpby.Params>(new(DType.F32, new Shape(1031), 0.5f, -2f), CaseUse.Emulator),
            new OpCase<Axpby.Params>(new(DType.BF16, new Shape(2055), -1f, 0.25f), CaseUse.Emulator),
            new OpCase<Axpby.Params>(new(DType.F16, new Shape(33, 7), 3f, 1f), CaseUse.Emulator),
            new OpCase<Axpby.Params>(new(DType.BF16, new Shape(32760, 1536), 1f, 1f), CaseUse.Bench),
            new OpCase<Axpby.Params>(new(DType.F32, new Shape(32760, 1536), 1f, 1f), CaseUse.Bench),
        ],
        // f32: a few fp32 roundings of the combination; narrow types: one output rounding.
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-6)),
    };

    private static DType[] FloatDTypes() => [DType.F32, DType.F16, DType.BF16];
}
