using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>layer_norm's cases: with and without affine, shapes from <see cref="NormCases"/>.</summary>
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
            new OpCase<LayerNorm.Params>(new(DType.BF16, NormCases.WanActivations.Rows, NormCases.WanActivations.Dim, 1e-6f, false), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
