// LinearEngine: what linear_attention and sla share: phi, the pass arguments, the passes'
// definition and the tiled product their consumers use (the ILGPU kernels live in LinearAttention
// and Sla, ops, so `zoe ptx` compiles them; kernels/attention/linear_common.cuh is the CUDA twin,
// and the design is the same):
//
//   phi      one warp per row, lanes over D (coalesced): phi(x) of q or k into f32 [B, heads, N, D]
//            (softmax: max and sum by a fixed butterfly of shuffles)
//   partial  one 256-thread group per (b, hkv, chunk of segments, 64 x 64 tile of the state): the
//            segment sums phi(k)^T [v, 1] as a shared-memory tiled product over the chunk's keys in
//            order (4 x 4 outputs per thread), writing the running sum after each segment: the
//            chunk-local inclusive prefix ("local")
//   scan     one thread per (b, hkv, state element), serial over the chunks only (about N / 1024
//            steps): each chunk's exclusive offset ("carry", from the carried state when there is
//            one), and the total into the carried state
// The prefix of segment s is local[s] + carry[s / ChunkSegments] (PrefixAt); no pass rewrites it.
// A state is D x (D + 1) floats per (b, hkv): S row-major [D][D], then z [D] (the layout of the
// carried state and zsum). What reads the prefix (the output of linear_attention, the
// per-query-block states of sla) is the op's; both end in GemmRows: rows of an f32 [rows, D]
// matrix times a D x 64 slice staged in shared memory, optionally divided by phi(q) . z + eps.
// Every sum runs in a fixed order, so results are the same run to run.
using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Attention.Flash;

namespace Zoetrope.Attention.Sparse;

/// <summary>The feature map phi of linear attention.</summary>
public enum FeatureMap
{
    /// <summary>max(x, 0).</summary>
    Relu = 0,

    /// <summary>elu(x) + 1: x + 1 for x &gt; 0, e^x otherwise.</summary>
    Elu1 = 1,

    /// <summary>A softmax over the head dim.</summary>
    Softmax = 2,
}

/// <summary>Shared linear-attention passes (see the file comment).</summary>
internal static class LinearEngine
{
    /// <summary>The denominator's epsilon.</summary>
    public const float Epsilon = 1e-5f;

    /// <summary>phi of one row, in place (double: the oracle).</summary>
    public static void Phi(FeatureMap phi, Span<double> row)
    {
        if (phi == FeatureMap.Softmax)
        {
            double max = double.NegativeInfinity;
            foreach (double x in row)
            {
                max = Math.Max(max, x);
            }
            double sum = 0;
            for (int c = 0; c < row.Length; c++)
            {
                row[c] = Math.Exp(row[c] - max);
                sum += row[c];
            }
            for (int c = 0; c < row.Length; c++)
            {
                row[c] /= sum;
            }
            return;
        }
        for (int c = 0; c < row.Length; c++)
        {
            row[c] = phi == FeatureMap.Relu ? Math.Max(row[c], 0) : row[c] > 0 ? row[c] + 1 : Math.Exp(row[c]);
        }
    }

    /// <summary>phi of every row of a strided [B, heads, N, D] tensor, as contiguous [B, heads, N, D] doubles.</summary>
    public static double[] PhiRows(FeatureMap phi, double[] x, HeadStrides st, int batch, int heads, int len, int d)
    {
        ArgumentNullException.ThrowIfNull(x);
        var result = new double[(long)batch * heads * len * d];
        for (int b = 0; b < batch; b++)
        {
            for (int h = 0; h < heads; h++)
            {
                for (int n = 0; n < len; n++)
                {
                    var row = result.AsSpan((int)(((((long)b * heads) + h) * len + n) * d), d);
                    x.AsSpan((int)st.Of(b, h, n), d).CopyTo(row);
                    Phi(phi, row);
                }
            }
        }
        return result;
    }

    /// <summary>Rows and columns of a group's output tile.</summary>
    public const int Tile = 64;

    /// <summary>Shared row stride of transposed stages (conflict-free column stores).</summary>
    public const int Pad = Tile + 1;

    /// <summary>Keys (partial) or head-dim entries (GemmRows) staged per step.</summary>
    public const int Steps = 32;

    /// <summary>Threads of a tiled group: 16 x 16, 4 x 4 outputs each (rows ty + 16 i, columns tx + 16 j).</summary>
    public const int Threads = 256;

    /// <summary>Keys per chunk of the prefix (linear_common.cuh's kChunkTokens).</summary>
    public const int ChunkTokens = 1024;

    /// <summary>The largest head dim (AttentionGeometry: 64 or 128): sizes the shared stages.</summary>
    public const int MaxHeadDim = 128;

    /// <summary>Floats of GemmRows' shared slice: D x 64 at row stride Pad.</summary>
    public const int SliceFloats = MaxHeadDim * Pad;

    /// <summary>Floats of GemmRows' staged rows: [Steps][Pad].</summary>
    public const int RowStageFloats = Steps * Pad;

    /// <summary>The scalars of the passes (blittable).</summary>
    public readonly struct Args
    {
        /// <summary>Extents: segments per (b, hkv), tokens per segment, segments per chunk and chunks; Phi as an int.</summary>
        public readonly int Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group, Segments, SegmentTokens, Phi, ChunkSegments, Chunks;

        /// <summary>Strides of q and o, and of k and v.</summary>
        public readonly HeadStrides Q, Kv;

        /// <summary>Over <paramref name="g"/> with segments of <paramref name="segmentTokens"/> keys (at least one segment).</summary>
        public Args(AttentionGeometry g, FeatureMap phi, int segmentTokens)
        {
            (Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group) = (g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, g.Group);
            SegmentTokens = segmentTokens;
            Segments = Math.Max(1, (g.KvLen + segmentTokens - 1) / segmentTokens);
            ChunkSegments = segmentTokens >= ChunkTokens ? 1 : ChunkTokens / segmentTokens;
            Chunks = (Segments + ChunkSegments - 1) / ChunkSegments;
            Phi = (int)phi;
            (Q, Kv) = (g.QStrides, g.KvStrides);
        }

        /// <summary>Floats of one state: D x (D + 1).</summary>
        public long StateFloats => (long)HeadDim * (HeadDim + 1);

        /// <summary>Floats of the prefix: local [B, Hkv, segments, state] then carry [B, Hkv, chunks, state].</summary>
        public long PrefixFloats => (long)Batch * KvHeads * (Segments + Chunks) * StateFloats;

        /// <summary>Where the carry starts in the prefix.</summary>
        public long CarryAt => (long)Batch * KvHeads * Segments * StateFloats;
    }

    /// <summary>Element <paramref name="e"/> of segment <paramref name="seg"/>'s inclusive prefix of (b, hkv) = <paramref name="bhkv"/>.</summary>
    public static float PrefixAt(Args a, ArrayView<float> prefix, long bhkv, int seg, long e)
    {
        long sf = a.StateFloats;
        return prefix[(((bhkv * a.Segments) + seg) * sf) + e] + prefix[a.CarryAt + (((bhkv * a.Chunks) + (seg / a.ChunkSegments)) * sf) + e];
    }

    /// <summary>
    /// Rows [<paramref name="r0"/>, <paramref name="r1"/>) of x (f32 [*, D] rows at x + row * D) times
    /// the slice in <paramref name="sb"/> (b[k][col] at k * Pad + col, staged by the caller before a
    /// barrier), divided by x_row . <paramref name="sz"/> + eps when <paramref name="divide"/>; each value
    /// goes to <paramref name="sink"/> as (row, c0 + col). Sums run over the head dim in order, in f32.
    /// Every thread of the 256-thread group calls it (it has barriers).
    /// </summary>
    public static void GemmRows<TSink>(ArrayView<float> x, long r0, long r1, int d, int c0, bool divide,
        ArrayView<float> sb, ArrayView<float> sz, ArrayView<float> sa, ArrayView<float> sden, TSink sink)
        where TSink : struct, IRowSink
    {
        int tid = Group.IdxX, tx = tid % 16, ty = tid / 16;
        int sk = tid % Steps, sr = tid / Steps;  // staging: entry sk of rows sr, sr + 8, ...
        for (long rt = r0; rt < r1; rt += Tile)
        {
            var acc = default(Acc4x4);
            float den = Epsilon;
            for (int k0 = 0; k0 < d; k0 += Steps)
            {
                // A warp reads 32 consecutive floats of one row; stored transposed ([k][row], padded).
                for (int m = 0; m < Steps * Tile / Threads; m++)
                {
                    int r = sr + (m * (Threads / Steps));
                    sa[(sk * Pad) + r] = rt + r < r1 && k0 + sk < d ? x[((rt + r) * d) + k0 + sk] : 0f;
                }
                Group.Barrier();
                int steps = XMath.Min(Steps, d - k0);
                for (int kk = 0; kk < steps; kk++)
                {
                    acc.Fma(Quad.Of(sa, (kk * Pad) + ty), Quad.Of(sb, ((k0 + kk) * Pad) + tx));
                }
                if (divide && tid < Tile)
                {
                    for (int kk = 0; kk < steps; kk++)
                    {
                        den += sa[(kk * Pad) + tid] * sz[k0 + kk];
                    }
                }
                Group.Barrier();
            }
            if (divide && tid < Tile)
            {
                sden[tid] = den;
            }
            Group.Barrier();
            for (int i = 0; i < 4; i++)
            {
                int r = ty + (16 * i);
                float dv = divide ? sden[r] : 1f;
                var row = acc.Row(i);
                for (int j = 0; j < 4; j++)
                {
                    int c = c0 + tx + (16 * j);
                    if (rt + r < r1 && c < d)
                    {
                        sink.Put(rt + r, c, divide ? row.At(j) / dv : row.At(j));
                    }
                }
            }
            // (sden is next written after the next tile's barriers.)
        }
    }
}

/// <summary>Where GemmRows puts (row, column, value).</summary>
internal interface IRowSink
{
    /// <summary>Stores one output.</summary>
    void Put(long row, int col, float value);
}

/// <summary>Four floats of a thread's 4 x 4 tile, 16 apart (registers, not local memory).</summary>
internal struct Quad
{
    /// <summary>Entries 0..3.</summary>
    public float X, Y, Z, W;

    /// <summary>s[at], s[at + 16], s[at + 32], s[at + 48].</summary>
    public static Quad Of(ArrayView<float> s, int at) => new() { X = s[at], Y = s[at + 16], Z = s[at + 32], W = s[at + 48] };

    /// <summary>this += f * w.</summary>
    public void Fma(float f, Quad w)
    {
        X += f * w.X;
        Y += f * w.Y;
        Z += f * w.Z;
        W += f * w.W;
    }

    /// <summary>Entry j.</summary>
    public readonly float At(int j) => j == 0 ? X : j == 1 ? Y : j == 2 ? Z : W;
}

/// <summary>A thread's 4 x 4 accumulators: row i is the outer product's f[i] times w.</summary>
internal struct Acc4x4
{
    /// <summary>Rows 0..3.</summary>
    public Quad R0, R1, R2, R3;

    /// <summary>acc[i][j] += f[i] * w[j].</summary>
    public void Fma(Quad f, Quad w)
    {
        R0.Fma(f.X, w);
        R1.Fma(f.Y, w);
        R2.Fma(f.Z, w);
        R3.Fma(f.W, w);
    }

    /// <summary>Row i.</summary>
    public readonly Quad Row(int i) => i == 0 ? R0 : i == 1 ? R1 : i == 2 ? R2 : R3;
}
