using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>gated_residual's cases: both gates, f32/bf16 (and one f16), shapes from <see cref="ModulationCases"/>; rounding=per-op on bf16/f16 (and f32).</summary>
internal static class GatedResidualCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<GatedResidual.Params> Table { get; } = new()
    {
        Cases =
        [
            .. ModulationCases.CheckTypes.SelectMany(d => ModulationCases.CheckShapes.SelectMany(s => new[] { 0, 1 }.Select(chunk =>
                new OpCase<GatedResidual.Params>(new(d, s.B, s.F, s.T, s.Dim, chunk))))),
            new OpCase<GatedResidual.Params>(new(DType.F16, 2, 3, 5, 33, 0)),
            new OpCase<GatedResidual.Params>(new(DType.BF16, 1, 2, 3, 344, 0), CaseUse.Emulator),
            .. ModulationCases.EmulatorShapes.Select(s => new OpCase<GatedResidual.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, 1), CaseUse.Emulator)),
            .. ModulationCases.BenchShapes.Select(s => new OpCase<GatedResidual.Params>(new(DType.BF16, s.B, s.F, s.T, s.Dim, 0), CaseUse.Bench)),
            .. ModulationCases.PerOpShapes.Select((s, i) => new OpCase<GatedResidual.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, i % 2, Rounding.PerOp))),
            new OpCase<GatedResidual.Params>(new(DType.BF16, 1, 2, 3, 344, 1, Rounding.PerOp), CaseUse.Emulator),
            new OpCase<GatedResidual.Params>(new(DType.F16, 1, 1, 5, 33, 0, Rounding.PerOp), CaseUse.Emulator),
            new OpCase<GatedResidual.Params>(new(DType.BF16, 1, 3, 1560, 1536, 0, Rounding.PerOp), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
