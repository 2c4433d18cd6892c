// The row-norm engine: one 32-lane warp per row, the lanes striding over the row's columns.
//
//   rms:   y = x * rsqrt(mean(x^2) + eps)               (2 passes: sum of squares, output)
//   layer: y = (x - mean) * rsqrt(mean((x-mean)^2) + eps)  (3 passes: mean, variance, output)
//
// then y goes through the epilogue (weight/bias, adaLN modulation) and is rounded once to the
// output type. fp32 throughout; the variance is taken about the mean (two-pass), not as
// E[x^2] - E[x]^2, which cancels catastrophically when |mean| >> std. Warp sums use a fixed
// butterfly order, so results are deterministic. Rows are re-read per pass: on a GPU they stay
// in L1/L2 (a 1536-wide bf16 row is 3 KiB), so DRAM sees one read and one write.
using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Norm;

/// <summary>The shared device routine of rms_norm, layer_norm, adaln_modulate and gated_residual_adaln.</summary>
internal static class RowNormEngine
{
    /// <summary>Lanes per row (one warp).</summary>
    public const int Lanes = 32;

    /// <summary>Normalizes row <c>Grid.IdxX</c> of <paramref name="source"/> into <paramref name="output"/> (call from a kernel with 32-lane groups).</summary>
    public static void Run<T, TCodec, TSource, TEpilogue>(ArrayView<T> output, int dim, float eps, bool rms, TSource source, TEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
        where TSource : struct, IRowSource
        where TEpilogue : struct, IRowEpilogue
    {
        TCodec codec = default;
        long row = Grid.IdxX;
        int lane = Group.IdxX;
        float mean = 0f;
        if (!rms)
        {
            float sum = 0f;
            for (int c = lane; c < dim; c += Lanes)
            {
                sum += source.Load(row, c);
            }
            mean = WarpReduce.Sum(sum) / dim;
        }
        float sq = 0f;
        for (int c = lane; c < dim; c += Lanes)
        {
            float d = source.Load(row, c) - mean;
            sq += d * d;
        }
        float rstd = 1f / XMath.Sqrt((WarpReduce.Sum(sq) / dim) + eps);
        long start = row * dim;
        for (int c = lane; c < dim; c += Lanes)
        {
            float v = source.Load(row, c);
            source.Emit(row, c, v);
            output[start + c] = codec.Store(epilogue.Apply(row, c, (v - mean) * rstd));
        }
    }
}
