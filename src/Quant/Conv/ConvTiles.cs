// ConvTiles: conv3d's ILGPU engine, TiledGemm's structure (src/Quant/Gemm/TiledGemm.cs: a 16 x 16
// group, a 64 x 64 output tile, 4 x 4 strided register blocks, two K-major shared stages of
// 64 x 32 with a +1 pad, one barrier per K tile) with its A operand gathered instead of read:
// lane l of a warp stages K index k0 + l of rows warp + 8p, and the element is x at the input
// coordinate ConvGeometry.InputOffset computes (zero where it is padding). Consecutive lanes are
// consecutive channels of one tap, contiguous in x, so the gather coalesces as a plain row does
// once Cin >= 32. B (the weights, [Cout, K]) stages as TiledGemm's rows. The store scatters
// through the time shuffle (ConvGeometry.OutIndex) and the bias + residual + act epilogue.
using ILGPU;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Quant.Conv;

/// <summary>The shared-memory implicit-GEMM engine of <see cref="Conv3d"/>'s ILGPU kernel.</summary>
internal static class ConvTiles
{
    /// <summary>acc += A[m0.., :] B[n0.., :]^T for this thread's 4 x 4 block (every thread of the group calls it).</summary>
    public static void Accumulate<T, TCodec>(ArrayView<T> x, ArrayView<T> w, ArrayView<float> smem, ConvGeometry g, long m0, long n0, ref Tile4x4 acc)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        int tx = Group.IdxX;
        int ty = Group.IdxY;
        int tid = (ty * TiledGemm.Threads) + tx;
        int lane = tid & (TiledGemm.TileK - 1);
        int warp = tid / TiledGemm.TileK;
        const int stage = TiledGemm.StageWords;
        long tiles = (g.K + TiledGemm.TileK - 1) / TiledGemm.TileK;
        Gather<T, TCodec>(x, smem, 0, g, m0, 0, lane, warp);
        Rows<T, TCodec>(w, smem, stage, n0, g.N, g.K, 0, lane, warp);
        Group.Barrier();
        for (long t = 0; t < tiles; t++)
        {
            int cur = (int)(t & 1) * 2 * stage;
            if (t + 1 < tiles)
            {
                // The other stage was last read in tile t - 1, before that tile's barrier.
                int next = (2 * stage) - cur;
                long k0 = (t + 1) * TiledGemm.TileK;
                Gather<T, TCodec>(x, smem, next, g, m0, k0, lane, warp);
                Rows<T, TCodec>(w, smem, next + stage, n0, g.N, g.K, k0, lane, warp);
            }
            for (int kk = 0; kk < TiledGemm.TileK; kk++)
            {
                int ao = cur + (kk * TiledGemm.Stride) + ty;
                int bo = cur + stage + (kk * TiledGemm.Stride) + tx;
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

    /// <summary>Stores this thread's 4 x 4 block: rows ty + 16i, channels tx + 16j, through the epilogue and the time shuffle.</summary>
    public static void Store<T, TCodec>(ArrayView<T> y, ArrayView<T> residual, ConvEpilogue epilogue, ConvGeometry g, in Tile4x4 acc, long m0, long n0)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        long row = m0 + Group.IdxY;
        int col = (int)n0 + Group.IdxX;
        StoreRow<T, TCodec>(y, residual, epilogue, g, acc.R0, row, col);
        StoreRow<T, TCodec>(y, residual, epilogue, g, acc.R1, row + 16, col);
        StoreRow<T, TCodec>(y, residual, epilogue, g, acc.R2, row + 32, col);
        StoreRow<T, TCodec>(y, residual, epilogue, g, acc.R3, row + 48, col);
    }

    // A's rows warp + 8p of the 64 x 32 tile at K column k0 + lane, gathered from x, K-major in smem.
    private static void Gather<T, TCodec>(ArrayView<T> x, ArrayView<float> smem, int offset, ConvGeometry g, long m0, long k0, int lane, int warp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        for (int p = 0; p < TiledGemm.TileM / 8; p++)
        {
            int row = warp + (8 * p);
            // Padding reads x[0] and selects zero: no branch around the load, so the warp stays
            // converged through the loop (ILGPU emits its branch as bra.uni).
            long xi = g.InputOffset(m0 + row, k0 + lane);
            float v = default(TCodec).Load(x[xi >= 0 ? xi : 0]);
            smem[offset + (lane * TiledGemm.Stride) + row] = xi >= 0 ? v : 0f;
        }
    }

    // B's rows warp + 8p (of [rows, k]) at K column k0 + lane, K-major in smem; zero past the ends.
    private static void Rows<T, TCodec>(ArrayView<T> src, ArrayView<float> smem, int offset, long r0, long rows, long k, long k0, int lane, int warp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        long col = k0 + lane;
        bool inK = col < k;
        for (int p = 0; p < TiledGemm.TileN / 8; p++)
        {
            int row = warp + (8 * p);
            long r = r0 + row;
            smem[offset + (lane * TiledGemm.Stride) + row] = inK && r < rows ? default(TCodec).Load(src[(r * k) + col]) : 0f;
        }
    }

    private static void StoreRow<T, TCodec>(ArrayView<T> y, ArrayView<T> residual, ConvEpilogue epilogue, ConvGeometry g, in Row4 r, long row, int col)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (row >= g.M)
        {
            return;
        }
        StoreOne<T, TCodec>(y, residual, epilogue, g, r.C0, row, col);
        StoreOne<T, TCodec>(y, residual, epilogue, g, r.C1, row, col + 16);
        StoreOne<T, TCodec>(y, residual, epilogue, g, r.C2, row, col + 32);
        StoreOne<T, TCodec>(y, residual, epilogue, g, r.C3, row, col + 48);
    }

    private static void StoreOne<T, TCodec>(ArrayView<T> y, ArrayView<T> residual, ConvEpilogue epilogue, ConvGeometry g, float acc, long row, int col)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (col < g.N)
        {
            long yi = g.OutIndex(row, col);
            y[yi] = default(TCodec).Store(epilogue.Apply<T, TCodec>(residual, col, yi, acc));
        }
    }
}
