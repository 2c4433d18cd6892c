using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant;

/// <summary>quantize's cases: every scheme of <see cref="QuantCases"/> over its shapes, from f32, f16 and bf16. Outputs are exact.</summary>
internal static class QuantizeCases
{
    private static readonly DType[] Inputs = [DType.F32, DType.BF16, DType.F16];

    /// <summary>The table.</summary>
    public static OpCaseTable<Quantize.Params> Table { get; } = new()
    {
        Cases =
        [
            .. QuantCases.Schemes.SelectMany((s, i) => QuantCases.Shapes.Select(sh => new OpCase<Quantize.Params>(new(Inputs[i % Inputs.Length], s, sh.Rows, sh.Cols)))),
            .. QuantCases.Emulator.Select(e => new OpCase<Quantize.Params>(new(e.Float, e.Scheme, e.Rows, e.Cols), CaseUse.Emulator)),
            .. QuantCases.BenchShapes.SelectMany(sh => new[] { QuantScheme.PerTokenInt8, QuantScheme.Block128Int8, QuantScheme.PerTokenFp8 }
                .Select(s => new OpCase<Quantize.Params>(new(DType.BF16, s, sh.Rows, sh.Cols), CaseUse.Bench))),
        ],
        Tolerances = ToleranceTable.Rounding,
    };
}
