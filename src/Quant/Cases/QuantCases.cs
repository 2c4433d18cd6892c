using Zoetrope.Runtime;

namespace Zoetrope.Quant;

/// <summary>
/// Schemes and shapes shared by the quantize/dequantize tables: every preset, plus small tiles
/// so partial edge tiles appear at check sizes; shapes with one row, odd sizes, and Wan's
/// activations (32,760 x 1536) and FFN weights (8960 x 1536) for benches.
/// </summary>
internal static class QuantCases
{
    public static readonly QuantScheme[] Schemes =
    [
        QuantScheme.PerTokenInt8,
        QuantScheme.PerChannelInt8,
        QuantScheme.Block128Int8,
        QuantScheme.Block128Int8 with { BlockRows = 4, BlockCols = 8 },
        QuantScheme.PerTensorFp8,
        QuantScheme.PerTokenFp8,
        QuantScheme.PerTensorFp8 with { Format = DType.I8, QMax = 127f },
        QuantScheme.Block128Int8 with { Format = DType.F8E4M3, QMax = 448f, BlockRows = 3, BlockCols = 5 },
    ];

    public static readonly (long Rows, long Cols)[] Shapes = [(1, 1), (5, 37), (9, 130)];

    public static readonly (long Rows, long Cols)[] BenchShapes = [(32760, 1536), (8960, 1536)];
}
