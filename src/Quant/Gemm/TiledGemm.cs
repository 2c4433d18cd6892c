// TiledGemm: the CUDA-core GEMM engine the ILGPU linear kernels share (linear, linear_int8,
// linear_fp8). ILGPU emits no mma.sync for these types, so the math is fp32 FMA; what the
// engine gets right is the memory side, in the layering of the CUDA kernel it shadows
// (kernels/gemm/gemm_common.cuh): global -> shared tile stages -> registers -> epilogue.
//
//   Block:   a 16 x 16 group computes a 64 x 64 tile of y = A B^T (A [M, K], B [N, K], both
//            row-major along K, the Linear layout).
//   Thread:  a 4 x 4 register block, rows ty + 16i and columns tx + 16j (i, j < 4): strided
//            rather than contiguous so that a warp (two values of ty, sixteen of tx) reads two
//            A words and sixteen consecutive B words per K step - one shared wavefront each -
//            and stores sixteen consecutive columns of y.
//   Stages:  64 x 32 tiles of A and B, decoded to fp32 once (an FP8 or INT8 element is decoded
//            once per block, not once per FMA), two stages so the next tile's loads overlap the
//            current tile's FMAs with one barrier per tile.
//   Loads:   lane l of a warp loads element k0 + l of one row: consecutive lanes on consecutive
//            K, the row-major direction, so a warp's request is one contiguous run of the row.
//   Shared:  each stage is stored K-major ([32][64 + 1]): the store transposes (lane l writes
//            word l * 65 + row, 32 distinct banks thanks to the +1 pad) and the FMA loop reads
//            along the 64-wide row (broadcast or consecutive words).
// Elements past M, N or the K range read as zero, so a K range never borrows from the next one
// (linear_int8's 128-wide scale tiles call the engine once per K range).
using ILGPU;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Gemm;

/// <summary>How an operand element becomes the fp32 value the FMAs use.</summary>
internal interface ITileOperand<TIn>
    where TIn : unmanaged
{
    /// <summary>The element as fp32 (exact for every operand type used here).</summary>
    float Decode(TIn value);
}

/// <summary>Four fp32 accumulators of one output row (columns tx + 16j).</summary>
internal struct Row4
{
    /// <summary>Column tx.</summary>
    public float C0;
    /// <summary>Column tx + 16.</summary>
    public float C1;
    /// <summary>Column tx + 32.</summary>
    public float C2;
    /// <summary>Column tx + 48.</summary>
    public float C3;

    /// <summary>this += a * (b0, b1, b2, b3).</summary>
    public void Fma(float a, float b0, float b1, float b2, float b3)
    {
        C0 += a * b0;
        C1 += a * b1;
        C2 += a * b2;
        C3 += a * b3;
    }

    /// <summary>this += p * s.</summary>
    public void AddScaled(in Row4 p, float s)
    {
        C0 += p.C0 * s;
        C1 += p.C1 * s;
        C2 += p.C2 * s;
        C3 += p.C3 * s;
    }
}

/// <summary>A thread's 4 x 4 register block of fp32 accumulators (rows ty + 16i).</summary>
internal struct Tile4x4
{
    /// <summary>Row ty.</summary>
    public Row4 R0;
    /// <summary>Row ty + 16.</summary>
    public Row4 R1;
    /// <summary>Row ty + 32.</summary>
    public Row4 R2;
    /// <summary>Row ty + 48.</summary>
    public Row4 R3;

    /// <summary>this += p * s (a K range's partial folded in with its scale).</summary>
    public void AddScaled(in Tile4x4 p, float s)
    {
        R0.AddScaled(p.R0, s);
        R1.AddScaled(p.R1, s);
        R2.AddScaled(p.R2, s);
        R3.AddScaled(p.R3, s);
    }
}

/// <summary>A 4 x 4 block of exact int32 sums (linear_int8's per-token scheme).</summary>
internal struct IntTile4x4
{
    private Int4Fragment _r0;
    private Int4Fragment _r1;
    private Int4Fragment _r2;
    private Int4Fragment _r3;

    /// <summary>this += p, where p holds integers exactly (|p| &lt; 2^24).</summary>
    public void Add(in Tile4x4 p)
    {
        Add(ref _r0, p.R0);
        Add(ref _r1, p.R1);
        Add(ref _r2, p.R2);
        Add(ref _r3, p.R3);
    }

    /// <summary>The sums as fp32 (one rounding each).</summary>
    public readonly Tile4x4 ToFloat()
    {
        var t = default(Tile4x4);
        t.R0 = ToFloat(_r0);
        t.R1 = ToFloat(_r1);
        t.R2 = ToFloat(_r2);
        t.R3 = ToFloat(_r3);
        return t;
    }

    private static void Add(ref Int4Fragment r, in Row4 p)
    {
        r.D0 += (int)p.C0;
        r.D1 += (int)p.C1;
        r.D2 += (int)p.C2;
        r.D3 += (int)p.C3;
    }

    private static Row4 ToFloat(in Int4Fragment r) => new() { C0 = r.D0, C1 = r.D1, C2 = r.D2, C3 = r.D3 };
}

/// <summary>The shared tiled GEMM engine (see the file header).</summary>
internal static class TiledGemm
{
    /// <summary>Threads per group edge (the group is Threads x Threads).</summary>
    public const int Threads = 16;

    /// <summary>Rows of y per block.</summary>
    public const int TileM = 64;

    /// <summary>Columns of y per block.</summary>
    public const int TileN = 64;

    /// <summary>K per stage: one warp-wide run of a row.</summary>
    public const int TileK = 32;

    /// <summary>Words per K step of a staged tile: 64 rows + 1 pad word (conflict-free transposing store).</summary>
    public const int Stride = TileM + 1;

    /// <summary>Words of one staged 64 x 32 tile.</summary>
    public const int StageWords = TileK * Stride;

    /// <summary>Shared words a kernel allocates for the engine: A and B, two stages each.</summary>
    public const int SharedWords = 4 * StageWords;

    /// <summary>
    /// acc += A[m0.., kStart..kEnd) B[n0.., kStart..kEnd)^T for this thread's 4 x 4 block. Every
    /// thread of the group must call it with the same arguments (it synchronizes); on return the
    /// stages are free for the next call.
    /// </summary>
    public static void Accumulate<TIn, TOp>(ArrayView<TIn> a, ArrayView<TIn> b, ArrayView<float> smem,
        long m0, long n0, long m, long n, long k, long kStart, long kEnd, ref Tile4x4 acc)
        where TIn : unmanaged
        where TOp : struct, ITileOperand<TIn>
    {
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int tid = (ty * Threads) + tx;
        int lane = tid & (TileK - 1);
        int warp = tid / TileK;
        long tiles = (kEnd - kStart + TileK - 1) / TileK;
        Stage<TIn, TOp>(a, smem, 0, m0, m, k, kStart, kEnd, lane, warp);
        Stage<TIn, TOp>(b, smem, StageWords, n0, n, k, kStart, kEnd, lane, warp);
        Group.Barrier();
        for (long t = 0; t < tiles; t++)
        {
            int cur = (int)(t & 1) * 2 * StageWords;
            if (t + 1 < tiles)
            {
                // The other stage was last read in tile t - 1, before that tile's barrier.
                int next = 2 * StageWords - cur;
                long k0 = kStart + ((t + 1) * TileK);
                Stage<TIn, TOp>(a, smem, next, m0, m, k, k0, kEnd, lane, warp);
                Stage<TIn, TOp>(b, smem, next + StageWords, n0, n, k, k0, kEnd, lane, warp);
            }
            for (int kk = 0; kk < TileK; kk++)
            {
                int ao = cur + (kk * Stride) + ty;
                int bo = cur + StageWords + (kk * Stride) + tx;
                float b0 = smem[bo];
                float b1 = smem[bo + 16];
                float b2 = smem[bo + 32];
                float b3 = smem[bo + 48];
                acc.R0.Fma(smem[ao], b0, b1, b2, b3);
                acc.R1.Fma(smem[ao + 16], b0, b1, b2, b3);
                acc.R2.Fma(smem[ao + 32], b0, b1, b2, b3);
                acc.R3.Fma(smem[ao + 48], b0, b1, b2, b3);
            }
            Group.Barrier();
        }
    }

    // Rows r0 + warp + 8p (p < 8) of the 64 x 32 tile starting at column k0, lane = K offset,
    // stored K-major at smem[offset + kk * Stride + row].
    private static void Stage<TIn, TOp>(ArrayView<TIn> src, ArrayView<float> smem, int offset, long r0, long rows, long k, long k0, long kEnd, int lane, int warp)
        where TIn : unmanaged
        where TOp : struct, ITileOperand<TIn>
    {
        TOp op = default;
        long col = k0 + lane;
        bool inK = col < kEnd;
        for (int p = 0; p < TileM / 8; p++)
        {
            int row = warp + (8 * p);
            long r = r0 + row;
            smem[offset + (lane * Stride) + row] = inK && r < rows ? op.Decode(src[(r * k) + col]) : 0f;
        }
    }

    /// <summary>Stores this thread's 4 x 4 block of y through the epilogue (rows/columns past M/N skipped).</summary>
    public static void Store<T, TCodec>(ArrayView<T> y, LinearEpilogue epilogue, in Tile4x4 acc, long m0, long n0, long m, long n)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        long row = m0 + Group.IdxY;
        long col = n0 + Group.IdxX;
        StoreRow<T, TCodec>(y, epilogue, acc.R0, row, col, m, n);
        StoreRow<T, TCodec>(y, epilogue, acc.R1, row + 16, col, m, n);
        StoreRow<T, TCodec>(y, epilogue, acc.R2, row + 32, col, m, n);
        StoreRow<T, TCodec>(y, epilogue, acc.R3, row + 48, col, m, n);
    }

    private static void StoreRow<T, TCodec>(ArrayView<T> y, LinearEpilogue epilogue, in Row4 r, long row, long col, long m, long n)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (row >= m)
        {
            return;
        }
        StoreOne<T, TCodec>(y, epilogue, r.C0, row, col, n);
        StoreOne<T, TCodec>(y, epilogue, r.C1, row, col + 16, n);
        StoreOne<T, TCodec>(y, epilogue, r.C2, row, col + 32, n);
        StoreOne<T, TCodec>(y, epilogue, r.C3, row, col + 48, n);
    }

    private static void StoreOne<T, TCodec>(ArrayView<T> y, LinearEpilogue epilogue, float acc, long row, long col, long n)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (col < n)
        {
            y[(row * n) + col] = default(TCodec).Store(epilogue.Apply<T, TCodec>(row, col, acc));
        }
    }
}
