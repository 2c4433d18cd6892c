// ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.b16: one to four 8x8 matrices of 16-bit elements
// from shared memory, one 32-bit register per matrix in every lane.
// ISA section: "Warp-level matrix load instruction: ldmatrix" (the table of which threads give the
// row addresses: lanes 8i..8i+7 give the rows of matrix i; each row is 16 contiguous bytes, naturally
// aligned; Figure "ldmatrix fragment layout for one 8x8 Matrix with 16-bit elements": a group of
// four consecutive lanes holds one row, lane l holding row l>>2, columns 2*(l%4) and 2*(l%4)+1, the
// lower column in the lower half; .trans loads the matrix as column-major, i.e. lane l gets the
// elements at (row 2*(l%4), col l>>2) and (row 2*(l%4)+1, col l>>2) of the matrix in memory).
// stmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.b16 ("Warp-level matrix store instruction: stmatrix",
// sm_90) is the same layout in the other direction: Holder states it once for both.
namespace Zoetrope.Emulator.Isa;

internal static class LdMatrix
{
    /// <summary>Bytes in one row of an m8n8 .b16 matrix.</summary>
    internal const int RowBytes = 16;

    /// <summary>
    /// Runs the instruction for a whole warp. <paramref name="laneAddress"/> holds each lane's
    /// address operand (only lanes 0..8*count-1 are read); <paramref name="read32"/> reads 4 bytes
    /// of shared memory at a 4-byte-aligned address; <paramref name="dst"/> receives
    /// dst[i*32 + lane] = lane's register for matrix i.
    /// </summary>
    internal static void Execute(int count, bool trans, ReadOnlySpan<ulong> laneAddress, Func<ulong, uint> read32, Span<uint> dst)
    {
        CheckCount(count);
        if (laneAddress.Length < 8 * count || dst.Length < 32 * count)
        {
            throw new ArgumentException($"ldmatrix .x{count} needs {8 * count} row addresses and {32 * count} destinations.");
        }
        Span<ushort> m = stackalloc ushort[64];
        for (int i = 0; i < count; i++)
        {
            // Read the whole 8x8 matrix row by row, as the rows are addressed.
            for (int r = 0; r < 8; r++)
            {
                ulong row = laneAddress[8 * i + r];
                for (int w = 0; w < 4; w++)
                {
                    uint word = read32(row + (ulong)(4 * w));
                    m[8 * r + 2 * w] = (ushort)word;           // lower address -> lower column
                    m[8 * r + 2 * w + 1] = (ushort)(word >> 16);
                }
            }
            dst.Slice(32 * i, 32).Clear();
            for (int r = 0; r < 8; r++)
            {
                for (int c = 0; c < 8; c++)
                {
                    (int lane, int half) = Holder(r, c, trans);
                    dst[32 * i + lane] |= (uint)m[8 * r + c] << (16 * half);
                }
            }
        }
    }

    /// <summary>
    /// The lane, and the half of its register (0 low, 1 high), that holds element (row, col) of an
    /// 8x8 matrix as it lies in memory: lane 4*row + col/2, half col%2; with .trans lane
    /// 4*col + row/2, half row%2. ldmatrix fills registers this way and stmatrix empties them.
    /// </summary>
    internal static (int Lane, int Half) Holder(int row, int col, bool trans) =>
        trans ? ((4 * col) + (row >> 1), row & 1) : ((4 * row) + (col >> 1), col & 1);

    /// <summary>
    /// stmatrix.sync.aligned.m8n8.{x1,x2,x4}{.trans}.b16, the inverse of <see cref="Execute"/>: lane
    /// registers src[i*32 + lane] (matrix i) go to the rows at laneAddress[8i..8i+7];
    /// <paramref name="write32"/> writes 4 bytes at a 4-byte-aligned shared address.
    /// </summary>
    internal static void Store(int count, bool trans, ReadOnlySpan<ulong> laneAddress, ReadOnlySpan<uint> src, Action<ulong, uint> write32)
    {
        CheckCount(count);
        if (laneAddress.Length < 8 * count || src.Length < 32 * count)
        {
            throw new ArgumentException($"stmatrix .x{count} needs {8 * count} row addresses and {32 * count} sources.");
        }
        for (int i = 0; i < count; i++)
        {
            for (int r = 0; r < 8; r++)
            {
                for (int w = 0; w < 4; w++)
                {
                    uint word = 0;
                    for (int h = 0; h < 2; h++)
                    {
                        (int lane, int half) = Holder(r, (2 * w) + h, trans);
                        word |= ((src[(32 * i) + lane] >> (16 * half)) & 0xFFFF) << (16 * h);
                    }
                    write32(laneAddress[(8 * i) + r] + (ulong)(4 * w), word);
                }
            }
        }
    }

    /// <summary>The row addresses the instruction reads (8 per matrix, matrix-major), e.g. for bank-conflict counting.</summary>
    internal static ReadOnlySpan<ulong> RowAddresses(int count, ReadOnlySpan<ulong> laneAddress)
    {
        CheckCount(count);
        return laneAddress[..(8 * count)];
    }

    /// <summary>The index (8*matrix + row) of the first row address not 16-byte aligned, or -1.</summary>
    internal static int FirstMisalignedRow(int count, ReadOnlySpan<ulong> laneAddress)
    {
        ReadOnlySpan<ulong> rows = RowAddresses(count, laneAddress);
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i] % RowBytes != 0)
            {
                return i;
            }
        }
        return -1;
    }

    private static void CheckCount(int count)
    {
        if (count is not (1 or 2 or 4))
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "ldmatrix loads .x1, .x2 or .x4 matrices.");
        }
    }
}
