// Int8Mma: mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 for ILGPU kernels, with its register
// fragments. In a warp, lane = 4 * group + t (group = lane / 4, t = lane mod 4):
//   A (16 x 32, row-major): a0 = A[group][4t..4t+3], a1 = A[group+8][4t..], a2 = A[group][16+4t..],
//                           a3 = A[group+8][16+4t..]          (4 int8 packed per 32-bit register)
//   B (32 x 8, column n):   b0 = B[4t..4t+3][group], b1 = B[16+4t..][group]
//   C/D (16 x 8, int32):    d0 = D[group][2t], d1 = D[group][2t+1], d2 = D[group+8][2t], d3 = D[group+8][2t+1]
// On a GPU the instruction runs as inline PTX. Where inline PTX is not available (ILGPU's CPU
// accelerator) Emulate computes exactly the same results from the same fragments, fetching other
// lanes' registers with shuffles, so the fragment layout itself is what CI tests.
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace Zoetrope.Quant.Gemm;

/// <summary>An int32 accumulator fragment (d0..d3).</summary>
internal struct Int4Fragment
{
    /// <summary>D[group][2t].</summary>
    public int D0;
    /// <summary>D[group][2t+1].</summary>
    public int D1;
    /// <summary>D[group+8][2t].</summary>
    public int D2;
    /// <summary>D[group+8][2t+1].</summary>
    public int D3;
}

/// <summary>The INT8 tensor-core MMA and its fragment loads.</summary>
internal static class Int8Mma
{
    /// <summary>
    /// Four int8 of row <paramref name="row"/>, columns col..col+3 of a row-major matrix with
    /// <paramref name="stride"/> columns, packed little-endian; rows at or past <paramref name="rows"/>
    /// and columns at or past <paramref name="colLimit"/> read as zero.
    /// </summary>
    public static int Pack(ArrayView<sbyte> a, long row, long rows, long col, long colLimit, long stride)
    {
        if (row >= rows)
        {
            return 0;
        }
        int packed = 0;
        for (int i = 0; i < 4; i++)
        {
            long c = col + i;
            int v = c < colLimit ? a[(row * stride) + c] : 0;
            packed |= (v & 0xFF) << (8 * i);
        }
        return packed;
    }

    /// <summary>c += A * B for one m16n8k32 tile.</summary>
    public static void Mma(ref Int4Fragment c, int a0, int a1, int a2, int a3, int b0, int b1)
    {
        if (CudaAsm.IsSupported)
        {
            // The accumulators are read and written (Ref), the fragments only read (Input).
            Ref<int> d0 = c.D0;
            Ref<int> d1 = c.D1;
            Ref<int> d2 = c.D2;
            Ref<int> d3 = c.D3;
            Input<int> ia0 = a0;
            Input<int> ia1 = a1;
            Input<int> ia2 = a2;
            Input<int> ia3 = a3;
            Input<int> ib0 = b0;
            Input<int> ib1 = b1;
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};",
                ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1);
            c.D0 = d0.Value;
            c.D1 = d1.Value;
            c.D2 = d2.Value;
            c.D3 = d3.Value;
        }
        else
        {
            Emulate(ref c, a0, a1, a2, a3, b0, b1);
        }
    }

    /// <summary>The instruction's semantics from the fragments (every lane must call it).</summary>
    public static void Emulate(ref Int4Fragment c, int a0, int a1, int a2, int a3, int b0, int b1)
    {
        int lane = Warp.LaneIdx;
        int group = lane >> 2;
        int t = lane & 3;
        for (int src = 0; src < 4; src++)
        {
            // Row `group` of A: k 4src..4src+3 in lane 4*group+src's a0, k 16+4src.. in its a2;
            // row group+8 likewise in a1 / a3.
            int rowLane = (4 * group) + src;
            int r0Lo = Warp.Shuffle(a0, rowLane);
            int r0Hi = Warp.Shuffle(a2, rowLane);
            int r1Lo = Warp.Shuffle(a1, rowLane);
            int r1Hi = Warp.Shuffle(a3, rowLane);
            // Column n of B lives in lanes 4n..4n+3; this lane owns columns 2t and 2t+1.
            int c0Lo = Warp.Shuffle(b0, (4 * (2 * t)) + src);
            int c0Hi = Warp.Shuffle(b1, (4 * (2 * t)) + src);
            int c1Lo = Warp.Shuffle(b0, (4 * ((2 * t) + 1)) + src);
            int c1Hi = Warp.Shuffle(b1, (4 * ((2 * t) + 1)) + src);
            c.D0 += Dot4(r0Lo, c0Lo) + Dot4(r0Hi, c0Hi);
            c.D1 += Dot4(r0Lo, c1Lo) + Dot4(r0Hi, c1Hi);
            c.D2 += Dot4(r1Lo, c0Lo) + Dot4(r1Hi, c0Hi);
            c.D3 += Dot4(r1Lo, c1Lo) + Dot4(r1Hi, c1Hi);
        }
    }

    /// <summary>Sum of the products of the four signed bytes of a and b.</summary>
    public static int Dot4(int a, int b)
    {
        int s = 0;
        for (int i = 0; i < 4; i++)
        {
            s += (int)(sbyte)(a >> (8 * i)) * (sbyte)(b >> (8 * i));
        }
        return s;
    }
}
