// The block grid of sparse attention: query blocks of BlockQ rows, key blocks of BlockK keys.
//
// A query block qb covers rows [qb * BlockQ, min((qb + 1) * BlockQ, Nq)); a key block kb covers
// keys [kb * BlockK, min((kb + 1) * BlockK, Nkv)). A key block is a candidate of a query block when
// the mask may let some row of the query block see some key of the key block (the same
// conservative tile test the flash kernels skip tiles with); only candidates are scored, selected
// or fed to the linear branch. BlockQ is a multiple of 64 (the CUDA flash CTA's rows: a CTA never
// straddles two query blocks) and BlockK a multiple of 64 (the flash key tile: a selected block is
// whole tiles). The LUT of a query block lists its selected key blocks in ascending order, then -1.
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;

namespace Zoetrope.Attention.Sparse;

/// <summary>Query and key block sizes of block-sparse attention (SLA's 128 x 64 by default).</summary>
/// <param name="BlockQ">Query rows per block (a multiple of 64).</param>
/// <param name="BlockK">Keys per block (a multiple of 64).</param>
public readonly record struct SparseBlocks(int BlockQ = 128, int BlockK = 64)
{
    /// <summary>The most key blocks a query block may choose from (the selection kernel's shared memory).</summary>
    public const int MaxKeyBlocks = 2048;

    /// <summary>SLA's blocks: 128 query rows, 64 keys.</summary>
    public static SparseBlocks Default => new(128, 64);

    /// <summary>Query blocks per head.</summary>
    public int QBlocks(AttentionGeometry g) => (g.QLen + BlockQ - 1) / BlockQ;

    /// <summary>Key blocks per head.</summary>
    public int KBlocks(AttentionGeometry g) => (g.KvLen + BlockK - 1) / BlockK;

    /// <summary>Shape of the LUT: [B, H, query blocks, key blocks] int32.</summary>
    public Shape LutShape(AttentionGeometry g) => new(g.Batch, g.Heads, QBlocks(g), KBlocks(g));

    /// <summary>Shape of the counts: [B, H, query blocks] int32.</summary>
    public Shape CountShape(AttentionGeometry g) => new(g.Batch, g.Heads, QBlocks(g));

    /// <summary>A short label.</summary>
    public string Label => FormattableString.Invariant($"blocks {BlockQ}x{BlockK}");

    /// <summary>Throws an ArgumentException naming the block size that does not fit.</summary>
    public void Validate(string op, AttentionGeometry g)
    {
        g.Validate();
        if (BlockQ <= 0 || BlockQ % 64 != 0)
        {
            throw new ArgumentException($"{op} {g.Label}: block_q {BlockQ} must be a positive multiple of 64", nameof(BlockQ));
        }
        if (BlockK <= 0 || BlockK % 64 != 0)
        {
            throw new ArgumentException($"{op} {g.Label}: block_k {BlockK} must be a positive multiple of 64", nameof(BlockK));
        }
        if (KBlocks(g) > MaxKeyBlocks)
        {
            throw new ArgumentException($"{op} {g.Label}: {KBlocks(g)} key blocks of {BlockK}; at most {MaxKeyBlocks} (raise block_k)", nameof(BlockK));
        }
    }

    /// <summary>Whether key block <paramref name="kb"/> is a candidate of query block <paramref name="qb"/> (see the file comment).</summary>
    public static bool Candidate(in AttentionMask mask, long qOffset, int qLen, int kvLen, int blockQ, int blockK, int qb, int kb)
    {
        long end = (long)(qb + 1) * blockQ;
        long r1 = (end < qLen ? end : qLen) - 1;
        long k0 = (long)kb * blockK;
        return k0 < kvLen && mask.TileMayBeVisible(((long)qb * blockQ) + qOffset, r1 + qOffset, k0, k0 + blockK, kvLen);
    }

    /// <summary>Whether key block <paramref name="kb"/> overlaps the positions of query block <paramref name="qb"/> (its "own" block).</summary>
    public static bool Diagonal(long qOffset, int qLen, int blockQ, int blockK, int qb, int kb)
    {
        long pos0 = ((long)qb * blockQ) + qOffset;
        long end = (long)(qb + 1) * blockQ;
        long pos1 = (end < qLen ? end : qLen) - 1 + qOffset;
        long k0 = (long)kb * blockK;
        return k0 <= pos1 && k0 + blockK > pos0;
    }

    /// <summary>Candidate key blocks of query block <paramref name="qb"/>.</summary>
    public int Candidates(AttentionGeometry g, int qb)
    {
        int n = 0;
        for (int kb = 0; kb < KBlocks(g); kb++)
        {
            n += Candidate(g.Mask, g.QOffset, g.QLen, g.KvLen, BlockQ, BlockK, qb, kb) ? 1 : 0;
        }
        return n;
    }

    /// <summary>
    /// The achieved sparsity of a block map: 1 - selected / candidate block pairs over all (b, h,
    /// query block); 0 when nothing is a candidate.
    /// </summary>
    public double Sparsity(AttentionGeometry g, ReadOnlySpan<double> counts)
    {
        int qBlocks = QBlocks(g);
        if (counts.Length != (long)g.Batch * g.Heads * qBlocks)
        {
            throw new ArgumentException($"sparsity: {counts.Length} counts; expected B * H * query blocks = {(long)g.Batch * g.Heads * qBlocks}", nameof(counts));
        }
        double candidates = 0;
        for (int qb = 0; qb < qBlocks; qb++)
        {
            candidates += Candidates(g, qb);
        }
        candidates *= (double)g.Batch * g.Heads;
        double selected = 0;
        foreach (double c in counts)
        {
            selected += c;
        }
        return candidates == 0 ? 0 : 1 - (selected / candidates);
    }

    /// <summary>The selected key blocks of (b, h, query block) from a LUT and counts as the reference reads them.</summary>
    public IEnumerable<int> Selected(AttentionGeometry g, double[] lut, double[] counts, int b, int h, int qb)
    {
        ArgumentNullException.ThrowIfNull(lut);
        ArgumentNullException.ThrowIfNull(counts);
        long row = ((((long)b * g.Heads) + h) * QBlocks(g)) + qb;
        int kBlocks = KBlocks(g);
        for (int i = 0; i < (int)counts[row]; i++)
        {
            yield return (int)lut[(row * kBlocks) + i];
        }
    }

    /// <summary>
    /// A per-(b, h, query block) set of selected key blocks as a dense [B, H, qBlocks, kBlocks]
    /// bitmap, validated: counts in [0, kBlocks], entries ascending, in range.
    /// </summary>
    public bool[] Bitmap(string op, AttentionGeometry g, double[] lut, double[] counts)
    {
        ArgumentNullException.ThrowIfNull(lut);
        ArgumentNullException.ThrowIfNull(counts);
        int qBlocks = QBlocks(g), kBlocks = KBlocks(g);
        var keep = new bool[(long)g.Batch * g.Heads * qBlocks * kBlocks];
        for (long row = 0; row < counts.Length; row++)
        {
            double n = counts[row];
            if (n < 0 || n > kBlocks)
            {
                throw new ArgumentException($"{op}: counts[{row}] = {n}; expected 0..{kBlocks}", "counts");
            }
            int last = -1;
            for (int i = 0; i < (int)n; i++)
            {
                double kb = lut[(row * kBlocks) + i];
                if (kb <= last || kb >= kBlocks)
                {
                    throw new ArgumentException($"{op}: lut row {row} entry {i} = {kb}; entries must ascend within 0..{kBlocks - 1}", "lut");
                }
                last = (int)kb;
                keep[(row * kBlocks) + last] = true;
            }
        }
        return keep;
    }
}
