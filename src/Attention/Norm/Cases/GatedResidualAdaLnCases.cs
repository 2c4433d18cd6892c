using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>gated_residual_adaln's cases: the FFN-to-next-block boundary (1, 0) and the reverse (0, 1); rounding=per-op on bf16/f16 (and f32).</summary>
internal static class GatedResidualAdaLnCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<GatedResidualAdaLn.Params> Table { get; } = new()
    {
        Cases =
        [
            .. ModulationCases.CheckTypes.SelectMany(d => ModulationCases.CheckShapes.SelectMany(s => new[]
            {
                new OpCase<GatedResidualAdaLn.Params>(new(d, s.B, s.F, s.T, s.Dim, 1, 0, 1e-6f)),
                new OpCase<GatedResidualAdaLn.Params>(new(d, s.B, s.F, s.T, s.Dim, 0, 1, 1e-6f)),
            })),
            .. ModulationCases.EmulatorShapes.Select((s, i) => new OpCase<GatedResidualAdaLn.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, 1 - i, i, 1e-6f), CaseUse.Emulator)),
            .. ModulationCases.BenchShapes.Select(s => new OpCase<GatedResidualAdaLn.Params>(new(DType.BF16, s.B, s.F, s.T, s.Dim, 1, 0, 1e-6f), CaseUse.Bench)),
            .. ModulationCases.PerOpShapes.Select((s, i) => new OpCase<GatedResidualAdaLn.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, 1 - (i % 2), i % 2, 1e-6f, Rounding.PerOp))),
            .. ModulationCases.PerOpEmulatorShapes.Select((s, i) => new OpCase<GatedResidualAdaLn.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, 1 - i, i, 1e-6f, Rounding.PerOp), CaseUse.Emulator)),
            new OpCase<GatedResidualAdaLn.Params>(new(DType.BF16, 1, 3, 1560, 1536, 1, 0, 1e-6f, Rounding.PerOp), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
