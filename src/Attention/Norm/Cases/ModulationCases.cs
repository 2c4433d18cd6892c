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
}
