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

    // For the emulated device (kernels/quant: one 256-thread block per scale group, the per-tensor
    // amax a warp per row and 8 rows per block, elementwise 256-thread blocks): 9 rows of 257 (8
    // rows and one; a group of a block's threads and one), a 128 x 128 tile plus one each way
    // (four groups, three partial), a per-tensor FP8 scale over 9 x 130 (a vector encode with a
    // 2-element tail).
    public static readonly (QuantScheme Scheme, DType Float, long Rows, long Cols)[] Emulator =
    [
        (QuantScheme.PerTokenInt8, DType.BF16, 9, 257),
        (QuantScheme.Block128Int8, DType.F16, 129, 130),
        (QuantScheme.PerTensorFp8, DType.F32, 9, 130),
        // Widths a multiple of the 16-byte pack (8 bf16), so the vector walks run (the shapes
        // above take the scalar fallback): FP8 2 x 16 tiles, a partial last tile row.
        (QuantScheme.Block128Int8 with { Format = DType.F8E4M3, QMax = 448f, BlockRows = 2, BlockCols = 16 }, DType.BF16, 5, 48),
    ];
}
