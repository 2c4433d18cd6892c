// LinearEngine: what linear_attention and sla share: phi, the pass arguments, and the passes'
// definition (their ILGPU kernels live in LinearAttention, an op, so `zoe ptx` compiles them;
// kernels/attention/linear_common.cuh is the CUDA twin).
//
//   phi     one thread per row: phi(x) of q or k into f32 [B, heads, N, D]
//   partial one thread per (b, hkv, segment, d1, col): sum over the segment's keys of
//           phi(k)[d1] * (col < D ? v[col] : 1), into [B, Hkv, segments, D, D + 1]; column D is z
//   scan    one thread per (b, hkv, d1, col): the inclusive prefix over segments, starting from the
//           carried state when there is one, which then receives the total
// State per (b, hkv) is S [D, D] and z [D] (the D + 1 columns above). What reads the prefix (the
// output of linear_attention, the per-query-block states of sla) is the op's.
using ILGPU;
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
public static class LinearEngine
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

    /// <summary>The scalars of the passes (blittable).</summary>
    public readonly struct Args
    {
        /// <summary>Extents: segments per (b, hkv) and tokens per segment; Phi as an int.</summary>
        public readonly int Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group, Segments, SegmentTokens, Phi;

        /// <summary>Strides of q and o, and of k and v.</summary>
        public readonly HeadStrides Q, Kv;

        /// <summary>Over <paramref name="g"/> with segments of <paramref name="segmentTokens"/> keys (at least one segment).</summary>
        public Args(AttentionGeometry g, FeatureMap phi, int segmentTokens)
        {
            (Batch, Heads, KvHeads, QLen, KvLen, HeadDim, Group) = (g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, g.Group);
            SegmentTokens = segmentTokens;
            Segments = Math.Max(1, (g.KvLen + segmentTokens - 1) / segmentTokens);
            Phi = (int)phi;
            (Q, Kv) = (g.QStrides, g.KvStrides);
        }

        /// <summary>Floats of one (b, hkv)'s prefix: segments x D x (D + 1).</summary>
        public long StateFloats => (long)HeadDim * (HeadDim + 1);
    }

    /// <summary>
    /// Column <paramref name="d2"/> of phi(q) S / (phi(q) . z + eps) for the phi(q) row at
    /// <paramref name="qAt"/> and the D x (D + 1) state at <paramref name="stateAt"/> (z in column D):
    /// the last step of linear_attention and of sla's linear branch, in their kernels.
    /// </summary>
    public static float Attend(ArrayView<float> phiQ, long qAt, ArrayView<float> state, long stateAt, int d, int d2)
    {
        float num = 0f;
        float den = Epsilon;
        for (int d1 = 0; d1 < d; d1++)
        {
            float f = phiQ[qAt + d1];
            num += f * state[stateAt + ((long)d1 * (d + 1)) + d2];
            den += f * state[stateAt + ((long)d1 * (d + 1)) + d];
        }
        return num / den;
    }
}
