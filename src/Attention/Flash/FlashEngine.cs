// FlashEngine: the tiled online-softmax loop that attention and sage_attention share on ILGPU.
//
// One group of D threads (two or four warps: D is 64 or 128) owns a tile of TileQ = 16 query rows
// of one (batch, head) and walks the key tiles of TileK = 64 keys its mask can reach; it never
// holds more than one 16 x 64 tile of scores. Per key tile:
//   1. the op's tile computes base-2 logits S = (q . k) * scale * log2(e) into shared memory
//      (dense: from a Q tile staged once and a K tile staged per key tile, both in shared memory
//      with coalesced loads; Sage: INT8 MMA, the 8 m16n8 column tiles split over the warps);
//   2. threads 0..15 own one row each: mask, running max m, rescale factor 2^(m_old - m_new),
//      running sum l of the fp32 probabilities, and P replaced by the op's P·V operand (fp32,
//      f16-rounded or e4m3(P * 448)); meanwhile every thread stages the V tile (the op's V
//      operand as f32) into the shared buffer K used, one coalesced row of D channels at a time;
//   3. every thread owns a 4-row x 4-channel block of O in registers (rows 4 * (tid / (D/4)) + i,
//      channels tid % (D/4) + j * D/4) and adds P[4 rows, c] x V[c, 4 channels] for the 64 keys:
//      8 shared loads per 16 FMAs, P reads broadcast, V reads consecutive across a warp.
// At the end O / l (times the op's epilogue scale) is written, and LSE = ln 2 * (m + log2 l).
// Why 16 named accumulators rather than an array: an array indexed by loop counters lands in
// local memory under ILGPU (no unrolling), which the CUDA kernels' register fragments avoid.
// The score and operand rounding are the op's (an IFlashTile struct: TensorPrimitives' operator
// pattern); which key tiles a query tile visits, and an optional f32 term added to the output
// before rounding, are the schedule's (IFlashKeys: every tile, or a block-sparse LUT); the loop,
// the masking and the softmax are here once.
using ILGPU;
using ILGPU.Algorithms;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Flash;

/// <summary>The scalars every flash kernel needs (blittable: a kernel parameter).</summary>
internal readonly struct FlashArgs
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
internal interface IFlashTile
{
    /// <summary>
    /// Once per query tile, before the key loop: stage what every key tile reuses into
    /// <paramref name="qTile"/> (TileQ x D floats). All <see cref="FlashEngine.Threads"/> threads call it.
    /// </summary>
    void Begin(in FlashArgs a, int b, int h, long q0, ArrayView<float> qTile, int tid);

    /// <summary>
    /// Base-2 logits of query rows [q0, q0 + 16) against keys [k0, k0 + 64) into <paramref name="s"/>
    /// (16 rows of <see cref="FlashEngine.SStride"/>). All threads call it; <paramref name="kTile"/>
    /// (TileK rows of <see cref="FlashEngine.KvStride"/> floats) is scratch; entries past QLen or
    /// KvLen are don't-cares. The engine puts a barrier after it.
    /// </summary>
    void Scores(in FlashArgs a, int b, int h, int hkv, long q0, long k0, ArrayView<float> s, ArrayView<float> kTile, ArrayView<float> qTile, int tid);

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
internal interface IFlashKeys
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
internal readonly struct AllKeys : IFlashKeys
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
internal static class FlashEngine
{
    /// <summary>Query rows per group.</summary>
    public const int TileQ = 16;

    /// <summary>Keys per tile.</summary>
    public const int TileK = 64;

    /// <summary>Lanes per warp (the kernels are written for 32).</summary>
    public const int Lanes = 32;

    /// <summary>The largest head dim (the shared tiles are sized for it).</summary>
    public const int MaxHeadDim = 128;

    /// <summary>
    /// Row stride of the score tile (floats): odd, so the 16 threads of the softmax step (one row
    /// each, same column) hit 16 banks, and the two row quads one warp reads at D = 64 (rows 4
    /// apart) never share a bank. (Sage's MMA epilogue writes, rows g and columns 2t, pay up to
    /// 4-way there; they are 4 stores per 8 keys against the P·V loop's 512 conflict-free loads.)
    /// </summary>
    public const int SStride = TileK + 1;

    /// <summary>Row stride of the K/V tile (floats): odd, so a warp reading one channel of 32 consecutive keys hits 32 banks.</summary>
    public const int KvStride = MaxHeadDim + 1;

    private const float Ln2 = 0.693147180559945309f;

    /// <summary>Groups to launch: one per (batch, head, query tile).</summary>
    public static long Groups(AttentionGeometry g) => (long)g.Batch * g.Heads * ((g.QLen + TileQ - 1) / TileQ);

    /// <summary>Threads per group: D, so that each owns a 4 x 4 block of the 16 x D output tile.</summary>
    public static int Threads(AttentionGeometry g) => g.HeadDim;

    /// <summary>The loop over every key tile. Launch <see cref="Groups"/> groups of <see cref="Threads"/> threads.</summary>
    public static void Run<TTile, T, TCodec>(in FlashArgs a, TTile tile, ArrayView<T> o, ArrayView<float> lse)
        where TTile : struct, IFlashTile
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        Run<TTile, AllKeys, T, TCodec>(a, tile, default, o, lse);

    /// <summary>The loop over the key tiles <paramref name="keys"/> lists. Launch <see cref="Groups"/> groups of <see cref="Threads"/> threads.</summary>
    public static void Run<TTile, TKeys, T, TCodec>(in FlashArgs a, TTile tile, TKeys keys, ArrayView<T> o, ArrayView<float> lse)
        where TTile : struct, IFlashTile
        where TKeys : struct, IFlashKeys
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var s = SharedMemory.Allocate<float>(TileQ * SStride);
        var kv = SharedMemory.Allocate<float>(TileK * KvStride);
        var qTile = SharedMemory.Allocate<float>(TileQ * MaxHeadDim);
        var rowScale = SharedMemory.Allocate<float>(TileQ);
        int tid = Group.IdxX;
        long bh = Grid.IdxX / a.QTiles;
        long q0 = (Grid.IdxX - (bh * a.QTiles)) * TileQ;
        int b = (int)(bh / a.Heads);
        int h = (int)(bh - ((long)b * a.Heads));
        int hkv = h / a.Group;
        int d = a.HeadDim;
        // This thread's O block: rows r0 .. r0 + 3, channels c0 + j * w for j = 0 .. 3.
        int w = d / 4;
        int c0 = tid % w;
        int r0 = (tid / w) * 4;
        float o00 = 0f, o01 = 0f, o02 = 0f, o03 = 0f;
        float o10 = 0f, o11 = 0f, o12 = 0f, o13 = 0f;
        float o20 = 0f, o21 = 0f, o22 = 0f, o23 = 0f;
        float o30 = 0f, o31 = 0f, o32 = 0f, o33 = 0f;

        float m = float.NegativeInfinity;
        float l = 0f;
        long pos0 = q0 + a.QOffset;
        long pos1 = XMath.Min(q0 + TileQ, a.QLen) - 1 + a.QOffset;
        long kEnd = a.Mask.KeyEnd(pos1, a.KvLen);
        tile.Begin(a, b, h, q0, qTile, tid);
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
            Group.Barrier();
            tile.Scores(a, b, h, hkv, q0, k0, s, kv, qTile, tid);
            Group.Barrier();
            if (tid < TileQ)
            {
                UpdateRow(a, tile, s, rowScale, q0 + tid, k0, tid, ref m, ref l);
            }
            // V over the buffer K used (every thread is past Scores): row by row, D consecutive
            // channels per row, zeros past KvLen so that P = 0 there multiplies a finite value.
            for (int e = tid; e < TileK * d; e += d)
            {
                int c = e / d;
                int ch = e - (c * d);
                kv[(c * KvStride) + ch] = k0 + c < a.KvLen ? tile.V(a, b, hkv, k0 + c, ch) : 0f;
            }
            Group.Barrier();
            float f0 = rowScale[r0], f1 = rowScale[r0 + 1], f2 = rowScale[r0 + 2], f3 = rowScale[r0 + 3];
            o00 *= f0; o01 *= f0; o02 *= f0; o03 *= f0;
            o10 *= f1; o11 *= f1; o12 *= f1; o13 *= f1;
            o20 *= f2; o21 *= f2; o22 *= f2; o23 *= f2;
            o30 *= f3; o31 *= f3; o32 *= f3; o33 *= f3;
            for (int c = 0; c < TileK; c++)
            {
                float p0 = s[(r0 * SStride) + c];
                float p1 = s[((r0 + 1) * SStride) + c];
                float p2 = s[((r0 + 2) * SStride) + c];
                float p3 = s[((r0 + 3) * SStride) + c];
                int vr = (c * KvStride) + c0;
                float v0 = kv[vr];
                float v1 = kv[vr + w];
                float v2 = kv[vr + (2 * w)];
                float v3 = kv[vr + (3 * w)];
                o00 += p0 * v0; o01 += p0 * v1; o02 += p0 * v2; o03 += p0 * v3;
                o10 += p1 * v0; o11 += p1 * v1; o12 += p1 * v2; o13 += p1 * v3;
                o20 += p2 * v0; o21 += p2 * v1; o22 += p2 * v2; o23 += p2 * v3;
                o30 += p3 * v0; o31 += p3 * v1; o32 += p3 * v2; o33 += p3 * v3;
            }
        }

        Group.Barrier();
        if (tid < TileQ)
        {
            rowScale[tid] = l;
        }
        Group.Barrier();
        Store<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, q0 + r0, rowScale[r0], c0, w, o00, o01, o02, o03);
        Store<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, q0 + r0 + 1, rowScale[r0 + 1], c0, w, o10, o11, o12, o13);
        Store<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, q0 + r0 + 2, rowScale[r0 + 2], c0, w, o20, o21, o22, o23);
        Store<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, q0 + r0 + 3, rowScale[r0 + 3], c0, w, o30, o31, o32, o33);
        if (a.WriteLse != 0 && tid < TileQ && q0 + tid < a.QLen)
        {
            long qi = q0 + tid;
            lse[(bh * a.QLen) + qi] = l > 0f ? (Ln2 * (m + XMath.Log2(l))) + tile.LseShift(a, b, h, hkv, qi) : float.NegativeInfinity;
        }
    }

    // One output row's 4 channels of this thread: O / l times the epilogue scale, plus the residual.
    private static void Store<TTile, TKeys, T, TCodec>(in FlashArgs a, TTile tile, TKeys keys, ArrayView<T> o, int b, int h, int hkv, long qi, float lr,
        int c0, int w, float x0, float x1, float x2, float x3)
        where TTile : struct, IFlashTile
        where TKeys : struct, IFlashKeys
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (qi >= a.QLen)
        {
            return;
        }
        long row = a.Q.Of(b, h, qi);
        Put<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, qi, row, lr, c0, x0);
        Put<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, qi, row, lr, c0 + w, x1);
        Put<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, qi, row, lr, c0 + (2 * w), x2);
        Put<TTile, TKeys, T, TCodec>(a, tile, keys, o, b, h, hkv, qi, row, lr, c0 + (3 * w), x3);
    }

    private static void Put<TTile, TKeys, T, TCodec>(in FlashArgs a, TTile tile, TKeys keys, ArrayView<T> o, int b, int h, int hkv, long qi, long row, float lr, int ch, float x)
        where TTile : struct, IFlashTile
        where TKeys : struct, IFlashKeys
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        float val = lr > 0f ? x * tile.OutScale(a, b, hkv, ch) / lr : 0f;
        if (keys.HasResidual != 0)
        {
            val += keys.Residual(a, b, h, qi, ch);
        }
        o[row + ch] = default(TCodec).Store(val);
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
            float v = live && key < a.KvLen && a.Mask.Visible(pos, key) ? s[(r * SStride) + c] : float.NegativeInfinity;
            s[(r * SStride) + c] = v;
            mNew = XMath.Max(mNew, v);
        }
        float sum = 0f;
        for (int c = 0; c < TileK; c++)
        {
            float v = s[(r * SStride) + c];
            float p = v == float.NegativeInfinity ? 0f : XMath.Exp2(v - mNew);
            sum += p;
            s[(r * SStride) + c] = tile.P(p);
        }
        float corr = mNew == float.NegativeInfinity ? 1f : XMath.Exp2(m - mNew);
        l = (l * corr) + sum;
        m = mNew;
        rowScale[r] = corr;
    }
}
