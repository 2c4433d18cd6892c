// FlashEngine: the tiled online-softmax loop that attention and sage_attention share on ILGPU.
//
// One warp owns a tile of TileQ = 16 query rows of one (batch, head) and walks the key tiles of
// TileK = 64 keys that its mask can reach; it never holds more than one 16 x 64 tile of scores.
// Per key tile:
//   1. the op's tile computes base-2 logits S = (q . k) * scale * log2(e) into shared memory;
//   2. lanes 0..15 own one row each: mask, running max m, rescale factor 2^(m_old - m_new),
//      running sum l of the fp32 probabilities, and P replaced by the op's P·V operand
//      (fp32, f16-rounded or e4m3(P * 448));
//   3. every lane owns channels lane, lane + 32, ... and updates its 16 rows of
//      O = O * rescale + P · V, reading each V element once per tile.
// At the end O / l (times the op's epilogue scale) is written, and LSE = ln 2 * (m + log2 l).
// The score and operand rounding are the op's (an IFlashTile struct: TensorPrimitives' operator
// pattern); which key tiles a query tile visits, and an optional f32 term added to the output
// before rounding, are the schedule's (IFlashKeys: every tile, or a block-sparse LUT); the loop,
// the masking and the softmax are here once.
using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Flash;

/// <summary>The scalars every flash kernel needs (blittable: a kernel parameter).</summary>
public readonly struct FlashArgs
{
    /// <summary>Extents.</summary>
    public readonly int Heads, KvHeads, QLen, KvLen, HeadDim, Group, QTiles, WriteLse;

    /// <summary>Absolute position of query 0.</summary>
    public readonly long QOffset;

    /// <summary>Strides of q and o, and of k and v.</summary>
    public readonly HeadStrides Q, Kv;

    /// <summary>The mask.</summary>
    public readonly AttentionMask Mask;

    /// <summary>From a validated geometry.</summary>
    public FlashArgs(AttentionGeometry g, bool writeLse)
    {
        Heads = g.Heads;
        KvHeads = g.KvHeads;
        QLen = g.QLen;
        KvLen = g.KvLen;
        HeadDim = g.HeadDim;
        Group = g.Group;
        QTiles = (g.QLen + FlashEngine.TileQ - 1) / FlashEngine.TileQ;
        WriteLse = writeLse ? 1 : 0;
        QOffset = g.QOffset;
        Q = g.QStrides;
        Kv = g.KvStrides;
        Mask = g.Mask;
    }
}

/// <summary>What an attention variant supplies to <see cref="FlashEngine"/>.</summary>
public interface IFlashTile
{
    /// <summary>
    /// Base-2 logits of query rows [q0, q0 + 16) against keys [k0, k0 + 64) into <paramref name="s"/>
    /// (row-major 16 x 64). All 32 lanes call it; entries past QLen or KvLen are don't-cares.
    /// </summary>
    void Scores(in FlashArgs a, int b, int h, int hkv, long q0, long k0, ArrayView<float> s, int lane);

    /// <summary>A probability in [0, 1] as the P·V operand.</summary>
    float P(float p);

    /// <summary>V[b, hkv, key, ch] as the P·V operand.</summary>
    float V(in FlashArgs a, int b, int hkv, long key, int ch);

    /// <summary>The epilogue's factor on channel <paramref name="ch"/> (1, or the V dequant scale).</summary>
    float OutScale(in FlashArgs a, int b, int hkv, int ch);

    /// <summary>What to add to the LSE of query <paramref name="qi"/> (natural log), e.g. the K-smoothing term.</summary>
    float LseShift(in FlashArgs a, int b, int h, int hkv, long qi);
}

/// <summary>Which key tiles a query tile visits, and what is added to its output (see the file comment).</summary>
public interface IFlashKeys
{
    /// <summary>Key tiles listed for the query tile at <paramref name="q0"/> (tiles past the mask's reach are skipped by the engine).</summary>
    int Count(in FlashArgs a, int b, int h, long q0);

    /// <summary>The first key of listed tile <paramref name="i"/>: a multiple of TileK, ascending in <paramref name="i"/>.</summary>
    long Start(in FlashArgs a, int b, int h, long q0, int i);

    /// <summary>1 when <see cref="Residual"/> is added to the output.</summary>
    int HasResidual { get; }

    /// <summary>An f32 term added to O[b, h, qi, ch] before it is rounded to the output type.</summary>
    float Residual(in FlashArgs a, int b, int h, long qi, int ch);
}

/// <summary>Dense attention's schedule: every key tile, nothing added.</summary>
public readonly struct AllKeys : IFlashKeys
{
    /// <inheritdoc />
    public int HasResidual => 0;

    /// <inheritdoc />
    public int Count(in FlashArgs a, int b, int h, long q0) => (a.KvLen + FlashEngine.TileK - 1) / FlashEngine.TileK;

    /// <inheritdoc />
    public long Start(in FlashArgs a, int b, int h, long q0, int i) => (long)i * FlashEngine.TileK;

    /// <inheritdoc />
    public float Residual(in FlashArgs a, int b, int h, long qi, int ch) => 0f;
}

/// <summary>The shared flash loop; see the file comment.</summary>
public static class FlashEngine
{
    /// <summary>Query rows per warp.</summary>
    public const int TileQ = 16;

    /// <summary>Keys per tile.</summary>
    public const int TileK = 64;

    /// <summary>Lanes per warp (the kernels are written for 32).</summary>
    public const int Lanes = 32;

    private const int MaxChannelsPerLane = 128 / Lanes;
    private const float Ln2 = 0.693147180559945309f;

    /// <summary>Groups to launch: one warp per (batch, head, query tile).</summary>
    public static long Groups(AttentionGeometry g) => (long)g.Batch * g.Heads * ((g.QLen + TileQ - 1) / TileQ);

    /// <summary>The loop over every key tile. Launch <see cref="Groups"/> groups of <see cref="Lanes"/> threads.</summary>
    public static void Run<TTile, T, TCodec>(in FlashArgs a, TTile tile, ArrayView<T> o, ArrayView<float> lse)
        where TTile : struct, IFlashTile
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        Run<TTile, AllKeys, T, TCodec>(a, tile, default, o, lse);

    /// <summary>The loop over the key tiles <paramref name="keys"/> lists. Launch <see cref="Groups"/> groups of <see cref="Lanes"/> threads.</summary>
    public static void Run<TTile, TKeys, T, TCodec>(in FlashArgs a, TTile tile, TKeys keys, ArrayView<T> o, ArrayView<float> lse)
        where TTile : struct, IFlashTile
        where TKeys : struct, IFlashKeys
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var s = SharedMemory.Allocate<float>(TileQ * TileK);
        var rowScale = SharedMemory.Allocate<float>(TileQ);
        var rowMax = SharedMemory.Allocate<float>(TileQ);
        var acc = LocalMemory.Allocate<float>(TileQ * MaxChannelsPerLane);
        int lane = Group.IdxX;
        long bh = Grid.IdxX / a.QTiles;
        long q0 = (Grid.IdxX - (bh * a.QTiles)) * TileQ;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        int hkv = h / a.Group;
        int chans = a.HeadDim / Lanes;
        for (int i = 0; i < TileQ * MaxChannelsPerLane; i++)
        {
            acc[i] = 0f;
        }

        float m = float.NegativeInfinity;
        float l = 0f;
        long pos0 = q0 + a.QOffset;
        long pos1 = XMath.Min(q0 + TileQ, a.QLen) - 1 + a.QOffset;
        long kEnd = a.Mask.KeyEnd(pos1, a.KvLen);
        int tiles = keys.Count(a, b, h, q0);
        for (int ti = 0; ti < tiles; ti++)
        {
            long k0 = keys.Start(a, b, h, q0, ti);
            if (k0 >= kEnd)
            {
                break;
            }
            if (!a.Mask.TileMayBeVisible(pos0, pos1, k0, k0 + TileK, a.KvLen))
            {
                continue;
            }
            tile.Scores(a, b, h, hkv, q0, k0, s, lane);
            Group.Barrier();
            if (lane < TileQ)
            {
                UpdateRow(a, tile, s, rowScale, q0 + lane, k0, lane, ref m, ref l);
            }
            Group.Barrier();
            for (int j = 0; j < chans; j++)
            {
                int ch = lane + (j * Lanes);
                for (int r = 0; r < TileQ; r++)
                {
                    acc[(r * MaxChannelsPerLane) + j] *= rowScale[r];
                }
                for (int c = 0; c < TileK && k0 + c < a.KvLen; c++)
                {
                    float v = tile.V(a, b, hkv, k0 + c, ch);
                    for (int r = 0; r < TileQ; r++)
                    {
                        acc[(r * MaxChannelsPerLane) + j] += s[(r * TileK) + c] * v;
                    }
                }
            }
            Group.Barrier();
        }

        if (lane < TileQ)
        {
            rowScale[lane] = l;
            rowMax[lane] = m;
        }
        Group.Barrier();
        TCodec codec = default;
        for (int r = 0; r < TileQ && q0 + r < a.QLen; r++)
        {
            float lr = rowScale[r];
            long row = a.Q.Of(b, h, q0 + r);
            for (int j = 0; j < chans; j++)
            {
                int ch = lane + (j * Lanes);
                float val = lr > 0f ? acc[(r * MaxChannelsPerLane) + j] * tile.OutScale(a, b, hkv, ch) / lr : 0f;
                if (keys.HasResidual != 0)
                {
                    val += keys.Residual(a, b, h, q0 + r, ch);
                }
                o[row + ch] = codec.Store(val);
            }
        }
        if (a.WriteLse != 0 && lane < TileQ && q0 + lane < a.QLen)
        {
            long qi = q0 + lane;
            lse[(bh * a.QLen) + qi] = l > 0f ? (Ln2 * (m + XMath.Log2(l))) + tile.LseShift(a, b, h, hkv, qi) : float.NegativeInfinity;
        }
    }

    // One row of step 2: mask, new max, rescale factor, probabilities -> P operands, running sum.
    private static void UpdateRow<TTile>(in FlashArgs a, TTile tile, ArrayView<float> s, ArrayView<float> rowScale, long qi, long k0, int r, ref float m, ref float l)
        where TTile : struct, IFlashTile
    {
        long pos = qi + a.QOffset;
        bool live = qi < a.QLen;
        float mNew = m;
        for (int c = 0; c < TileK; c++)
        {
            long key = k0 + c;
            float v = live && key < a.KvLen && a.Mask.Visible(pos, key) ? s[(r * TileK) + c] : float.NegativeInfinity;
            s[(r * TileK) + c] = v;
            mNew = XMath.Max(mNew, v);
        }
        float sum = 0f;
        for (int c = 0; c < TileK; c++)
        {
            float v = s[(r * TileK) + c];
            float p = v == float.NegativeInfinity ? 0f : XMath.Exp2(v - mNew);
            sum += p;
            s[(r * TileK) + c] = tile.P(p);
        }
        float corr = mNew == float.NegativeInfinity ? 1f : XMath.Exp2(m - mNew);
        l = (l * corr) + sum;
        m = mNew;
        rowScale[r] = corr;
    }
}
