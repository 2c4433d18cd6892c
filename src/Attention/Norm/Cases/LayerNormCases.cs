using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>layer_norm's cases: with and without affine, shapes from <see cref="NormCases"/> (the emulator shapes alternate affine and plain).</summary>
internal static class LayerNormCases
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
            // Rows over 2048 columns: the CUDA engine's streamed path (Wan-14B's 5120), not the rows-in-registers one.
            new OpCase<LayerNorm.Params>(new(DType.BF16, 2, 2056, 1e-5f, true), CaseUse.Emulator),
            new OpCase<LayerNorm.Params>(new(DType.BF16, NormCases.WanActivations.Rows, NormCases.WanActivations.Dim, 1e-6f, false), CaseUse.Bench),
        ],
        Tolerances = NormCases.Tolerances,
    };
}
