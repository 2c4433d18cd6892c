using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>layer_norm's cases: with and without affine, shapes from <see cref="NormCases"/> (the emulator shapes alternate affine and plain).</summary>
public static class LayerNormCases
{
    /// <summary>The table.</summary>
    public static OpCaseTable<LayerNorm.Params> Table { get; } = new()
    {
        Cases =
        [
            .. NormCases.FloatTypes.SelectMany(d => NormCases.CheckShapes.SelectMany(s => new[]
            {
                new OpCase<LayerNorm.Params>(new(d, s.Rows, s.Dim, 1e-6f, false)),
                new OpCase<LayerNorm.Params>(new(d, s.Rows, s.Dim, 1e-5f, true)),
            })),
            .. NormCases.EmulatorShapes.Select((s, i) => new OpCase<LayerNorm.Params>(new(s.DType, s.Rows, s.Dim, 1e-5f, i % 2 == 0), CaseUse.Emulator)),
            new OpCase<LayerNorm.Params>(new(DType.BF16, NormCases.WanActivations.Rows, NormCases.WanActivations.Dim, 1e-6f, false), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
