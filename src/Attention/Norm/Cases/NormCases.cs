using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// Shapes shared by the row-norm case tables: rows of 1 and a few; dims below a warp, not a
/// multiple of 32, and Wan's 1536 (ilgpu-cpu skips it by its cap); Wan's [32760, 1536] for benches.
/// </summary>
internal static class NormCases
{
    public static readonly DType[] FloatTypes = [DType.F32, DType.F16, DType.BF16];

    public static readonly (long Rows, int Dim)[] CheckShapes = [(1, 1), (3, 7), (5, 100), (2, 1536)];

    /// <summary>
    /// For the emulated device (kernels/norm: a warp per row, 4 rows per block, 16-byte packs
    /// when the dim allows): a partial last block of rows, and for each type a dim of 33 packs
    /// (one lane takes a second pack) and one with no pack path (33).
    /// </summary>
    public static readonly (DType DType, long Rows, int Dim)[] EmulatorShapes =
        [(DType.BF16, 5, 264), (DType.F16, 5, 264), (DType.F32, 6, 132), (DType.F32, 5, 33)];

    /// <summary>rms_norm rounding=per-op on the emulated device: bf16 packs, f16 single elements.</summary>
    public static readonly (DType DType, long Rows, int Dim)[] PerOpEmulatorShapes = [(DType.BF16, 5, 264), (DType.F16, 5, 33)];

    public static readonly (long Rows, int Dim) WanActivations = (32760, 1536);

    /// <summary>f32 results: a few fp32 roundings over dim-long sums; narrow types: the output rounding.</summary>
    public static ToleranceTable Tolerances { get; } = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-5));
}
