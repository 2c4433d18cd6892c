using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant;

/// <summary>dequantize's cases: every scheme of <see cref="QuantCases"/> into f32, bf16 and f16.</summary>
internal static class DequantizeCases
{
    private static readonly DType[] Outputs = [DType.F32, DType.BF16, DType.F16];

    /// <summary>The table.</summary>
    public static OpCaseTable<Dequantize.Params> Table { get; } = new()
    {
        Cases =
        [
            .. QuantCases.Schemes.SelectMany((s, i) => QuantCases.Shapes.Select(sh => new OpCase<Dequantize.Params>(new(Outputs[i % Outputs.Length], s, sh.Rows, sh.Cols)))),
            .. QuantCases.Emulator.Select(e => new OpCase<Dequantize.Params>(new(e.Float, e.Scheme, e.Rows, e.Cols), CaseUse.Emulator)),
            .. QuantCases.BenchShapes.Select(sh => new OpCase<Dequantize.Params>(new(DType.BF16, QuantScheme.PerTokenInt8, sh.Rows, sh.Cols), CaseUse.Bench)),
        ],
        Tolerances = ToleranceTable.Rounding.With(DType.F32, new Tolerance(1e-7)),
    };
}
