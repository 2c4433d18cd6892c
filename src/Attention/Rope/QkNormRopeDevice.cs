// The QK-norm + RoPE device routine (ILGPU): one 32-lane warp per token row of x [B, N, H*D].
// Pass 1: sum of squares over the whole hidden dim (Wan normalizes q and k over all heads at
// once, before the head split). Pass 2: lane-strided over the H*D/2 rotary pairs: scale by
// rstd and the weight, rotate by the token's position, write into [B, H, N, D] or (nhd) [B, N, H, D], which is x's
// own order: the pair lands where it was read. fp32 math.
using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Rope;

/// <summary>Shared by qk_norm_rope (output in the input's dtype) and qk_norm_rope_int8 (f32 output into a workspace).</summary>
internal static class QkNormRopeDevice
{
    /// <summary>Processes token row <c>Grid.IdxX</c> (call with 32-lane groups); <paramref name="nhd"/> != 0 writes [B, N, H, D].</summary>
    public static void Run<TIn, TInCodec, TOut, TOutCodec>(ArrayView<TIn> x, ArrayView<TIn> weight, ArrayView<TOut> output, RopeDevice rope, int heads, int tokens, int headDim, float eps, int nhd)
        where TIn : unmanaged
        where TInCodec : struct, IElementCodec<TIn>
        where TOut : unmanaged
        where TOutCodec : struct, IElementCodec<TOut>
    {
        TInCodec input = default;
        TOutCodec store = default;
        long row = Grid.IdxX;
        int lane = Group.IdxX;
        int dim = heads * headDim;
        long start = row * dim;
        float sq = 0f;
        for (int c = lane; c < dim; c += 32)
        {
            float v = input.Load(x[start + c]);
            sq += v * v;
        }
        float rstd = 1f / XMath.Sqrt((WarpReduce.Sum(sq) / dim) + eps);
        long b = row / tokens;
        long n = row - (b * tokens);
        int pairs = headDim / 2;
        for (int p = lane; p < dim / 2; p += 32)
        {
            int h = p / pairs;
            int j = p - (h * pairs);
            float x0 = input.Load(x[start + (2 * p)]) * rstd * input.Load(weight[2 * p]);
            float x1 = input.Load(x[start + (2 * p) + 1]) * rstd * input.Load(weight[(2 * p) + 1]);
            rope.Rotate(n, j, ref x0, ref x1);
            long at = nhd != 0 ? start + (2 * p) : ((((b * heads) + h) * tokens) + n) * headDim + (2 * j);
            output[at] = store.Store(x0);
            output[at + 1] = store.Store(x1);
        }
    }
}
