using Zoetrope.Runtime;

namespace Zoetrope.Attention.Norm;

/// <summary>
/// (B, F, T, dim) shared by the modulation ops' tables: one token; several frames of a few tokens
/// with dims off the warp size; and the bench shapes, one 3-frame block (4,680 tokens) and the
/// full 21-frame sequence (32,760 tokens) of Wan-1.3B at 480x832.
/// </summary>
internal static class ModulationCases
{
    public static readonly (int B, int F, int T, int Dim)[] CheckShapes = [(1, 1, 1, 7), (2, 3, 5, 33), (1, 2, 3, 64)];

    public static readonly (int B, int F, int T, int Dim)[] BenchShapes = [(1, 3, 1560, 1536), (1, 21, 1560, 1536)];

    public static readonly DType[] CheckTypes = [DType.F32, DType.BF16];

    // For the emulated device: 6 token rows (a block of 4 rows and a partial one) of 33 bf16
    // packs (264; for gated_residual's elementwise kernel 6 x 344 / 8 = 258 packs, a 256-thread
    // block and 2), and f32 rows of 33 with no pack path.
    public static readonly (DType DType, int B, int F, int T, int Dim)[] EmulatorShapes =
        [(DType.BF16, 1, 2, 3, 264), (DType.F32, 1, 1, 5, 33)];

    // rounding=per-op: the narrow types it exists for (bf16, and f16 for its other significand
    // width) on shapes off the warp size, and f32 where R is the identity.
    public static readonly (DType DType, int B, int F, int T, int Dim)[] PerOpShapes =
        [(DType.BF16, 2, 3, 5, 33), (DType.BF16, 1, 2, 3, 64), (DType.F16, 2, 3, 5, 33), (DType.F32, 1, 2, 3, 64)];

    // Per-op on the emulated device: bf16 on the pack path (dims as EmulatorShapes), f16 on the
    // element path (33: no pack).
    public static readonly (DType DType, int B, int F, int T, int Dim)[] PerOpEmulatorShapes =
        [(DType.BF16, 1, 2, 3, 264), (DType.F16, 1, 1, 5, 33)];
}
