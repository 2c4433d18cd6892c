using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>adaln_modulate's cases: both chunks, f32 and bf16, shapes from <see cref="ModulationCases"/>; rounding=per-op on bf16/f16 (and f32).</summary>
internal static class AdaLnModulateCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<AdaLnModulate.Params> Table { get; } = new()
    {
        Cases =
        [
            .. ModulationCases.CheckTypes.SelectMany(d => ModulationCases.CheckShapes.SelectMany(s => new[] { 0, 1 }.Select(chunk =>
                new OpCase<AdaLnModulate.Params>(new(d, s.B, s.F, s.T, s.Dim, chunk, 1e-6f))))),
            new OpCase<AdaLnModulate.Params>(new(DType.F16, 2, 3, 5, 33, 1, 1e-6f)),
            .. ModulationCases.EmulatorShapes.Select((s, i) => new OpCase<AdaLnModulate.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, 1 - i, 1e-6f), CaseUse.Emulator)),
            .. ModulationCases.BenchShapes.Select(s => new OpCase<AdaLnModulate.Params>(new(DType.BF16, s.B, s.F, s.T, s.Dim, 0, 1e-6f), CaseUse.Bench)),
            .. ModulationCases.PerOpShapes.Select((s, i) => new OpCase<AdaLnModulate.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, i % 2, 1e-6f, Rounding.PerOp))),
            .. ModulationCases.PerOpEmulatorShapes.Select((s, i) => new OpCase<AdaLnModulate.Params>(new(s.DType, s.B, s.F, s.T, s.Dim, i, 1e-6f, Rounding.PerOp), CaseUse.Emulator)),
            new OpCase<AdaLnModulate.Params>(new(DType.BF16, 1, 3, 1560, 1536, 0, 1e-6f, Rounding.PerOp), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
