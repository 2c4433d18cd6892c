using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>rms_norm's cases (shapes from <see cref="NormCases"/>, its emulator shapes included), fused and rounding=per-op.</summary>
internal static class RmsNormCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<RmsNorm.Params> Table { get; } = new()
    {
        Cases =
        [
            .. NormCases.FloatTypes.SelectMany(d => NormCases.CheckShapes.Select(s => new OpCase<RmsNorm.Params>(new(d, s.Rows, s.Dim, 1e-6f)))),
            .. NormCases.EmulatorShapes.Select(s => new OpCase<RmsNorm.Params>(new(s.DType, s.Rows, s.Dim, 1e-6f), CaseUse.Emulator)),
            new OpCase<RmsNorm.Params>(new(DType.BF16, NormCases.WanActivations.Rows, NormCases.WanActivations.Dim, 1e-6f), CaseUse.Bench),
            .. NormCases.FloatTypes.SelectMany(d => NormCases.CheckShapes.Skip(1).Select(s => new OpCase<RmsNorm.Params>(new(d, s.Rows, s.Dim, 1e-6f, Rounding.PerOp)))),
            .. NormCases.PerOpEmulatorShapes.Select(s => new OpCase<RmsNorm.Params>(new(s.DType, s.Rows, s.Dim, 1e-6f, Rounding.PerOp), CaseUse.Emulator)),
            new OpCase<RmsNorm.Params>(new(DType.BF16, NormCases.WanActivations.Rows, NormCases.WanActivations.Dim, 1e-6f, Rounding.PerOp), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
