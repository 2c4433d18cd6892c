// SageTile: sage_attention's operands for FlashEngine. Scores come from INT8 tensor-core tiles:
// the group's 16 query rows x 64 keys are 8 m16n8 tiles (split over its D / 32 warps), each summed over D / 32 m16n8k32 steps
// (Int8Mma; inline PTX on a GPU, an exact emulation on the CPU) over int8 Q (staged once) and K
// (staged per key tile) tiles in shared memory, then scaled by the row block's
// Q scale and the key block's K scale (a 16-row tile never straddles a Q block: rows per scale are
// multiples of 16; a 64-key tile is one K block), or with k_rows=1 by each key's own K scale: the
// factor is then q_scale * k_scale[key] per column, the same fp32 product as the per-block factor,
// so equal scales give the k_rows=64 scores bit for bit.
using ILGPU;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Attention.Flash;

/// <summary>INT8 scores, f16 or FP8 P·V operands, the smoothing term of the LSE.</summary>
internal readonly struct SageTile<T, TCodec> : IFlashTile
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<sbyte> _q;
    private readonly ArrayView<float> _qScale;
    private readonly ArrayView<sbyte> _k;
    private readonly ArrayView<float> _kScale;
    private readonly ArrayView<T> _v;
    private readonly ArrayView<byte> _vCodes;
    private readonly ArrayView<float> _vScale;
    private readonly ArrayView<float> _kMean;
    private readonly int _qRows;
    private readonly int _qBlocks;
    // K scales per head (per 64-key block), or 0 when k_scale is per key (k_rows=1): a flag in an
    // existing field, since ILGPU copies the whole tile through local memory and a field costs there.
    private readonly int _kBlocks;
    private readonly int _fp8;
    private readonly int _hasMean;

    /// <summary>
    /// Over the quantized operands; <paramref name="vCodes"/> [B, Hkv, Nkv, D] and <paramref name="vScale"/> [B, Hkv, D] when <paramref name="fp8"/> is 1;
    /// <paramref name="kRows"/> 64 (k_scale per key block) or 1 (per key, k's layout without D).
    /// </summary>
    public SageTile(ArrayView<sbyte> q, ArrayView<float> qScale, ArrayView<sbyte> k, ArrayView<float> kScale, ArrayView<T> v,
        ArrayView<byte> vCodes, ArrayView<float> vScale, ArrayView<float> kMean, int qRows, int qBlocks, int kBlocks, int kRows, int fp8, int hasMean)
    {
        _q = q;
        _qScale = qScale;
        _k = k;
        _kScale = kScale;
        _v = v;
        _vCodes = vCodes;
        _vScale = vScale;
        _kMean = kMean;
        _qRows = qRows;
        _qBlocks = qBlocks;
        _kBlocks = kRows == 1 ? 0 : kBlocks;
        _fp8 = fp8;
        _hasMean = hasMean;
    }

    /// <inheritdoc />
    public void Begin(in FlashArgs a, int b, int h, long q0, ArrayView<float> qTile, int tid)
    {
        // The int8 Q tile once per query tile, one byte per thread (a row's D bytes per pass: coalesced).
        StageRows(_q, a.Q.Of(b, h, 0), a.Q.Token, q0, a.QLen, FlashEngine.TileQ, a.HeadDim, qTile.Cast<sbyte>(), tid);
    }

    /// <inheritdoc />
    public void Scores(in FlashArgs a, int b, int h, int hkv, long q0, long k0, ArrayView<float> s, ArrayView<float> kTile, ArrayView<float> qTile, int tid)
    {
        // k_rows=64: one factor q_scale * k_scale per tile; k_rows=1 (_kBlocks 0): each column
        // times its own key's scale, the same fp32 product, so equal scales give the same bits.
        bool perKey = _kBlocks == 0;
        StageRows(_k, a.Kv.Of(b, hkv, 0), a.Kv.Token, k0, a.KvLen, FlashEngine.TileK, a.HeadDim, kTile.Cast<sbyte>(), tid);
        Group.Barrier();
        int lane = tid % FlashEngine.Lanes;
        int warps = a.HeadDim / FlashEngine.Lanes;
        int g = lane >> 2;
        int t = lane & 3;
        int words = RowWords(a.HeadDim);
        var qw = qTile.Cast<int>();
        var kw = kTile.Cast<int>();
        float qs = _qScale[((((long)b * a.Heads) + h) * _qBlocks) + (q0 / _qRows)];
        float scale = perKey ? qs : qs * _kScale[((((long)b * a.KvHeads) + hkv) * _kBlocks) + (k0 / SageAttention.KRows)];
        int qa = (g * words) + t;
        int qb = ((g + 8) * words) + t;
        for (int nt = tid / FlashEngine.Lanes; nt < FlashEngine.TileK / 8; nt += warps)
        {
            var c = default(Int4Fragment);
            int ka = (((nt * 8) + g) * words) + t;
            for (int w0 = 0; w0 < a.HeadDim / 4; w0 += 8)
            {
                Int8Mma.Mma(ref c, qw[qa + w0], qw[qb + w0], qw[qa + w0 + 4], qw[qb + w0 + 4], kw[ka + w0], kw[ka + w0 + 4]);
            }
            int col = (nt * 8) + (2 * t);
            float f0 = perKey ? qs * KeyScale(a, b, hkv, k0 + col) : scale;
            float f1 = perKey ? qs * KeyScale(a, b, hkv, k0 + col + 1) : scale;
            s[(g * FlashEngine.SStride) + col] = c.D0 * f0;
            s[(g * FlashEngine.SStride) + col + 1] = c.D1 * f1;
            s[((g + 8) * FlashEngine.SStride) + col] = c.D2 * f0;
            s[((g + 8) * FlashEngine.SStride) + col + 1] = c.D3 * f1;
        }
    }

    // k_rows=1: key `key`'s scale; k_scale is k's layout without D, so its index is k's offset / D.
    // Keys past KvLen are don't-cares (masked by the engine) and read nothing.
    private float KeyScale(in FlashArgs a, int b, int hkv, long key) =>
        key < a.KvLen ? _kScale[a.Kv.Of(b, hkv, key) / a.HeadDim] : 0f;

    // Int32 words per staged int8 row: D / 4 plus 4, so the 8 rows x 4 words of an MMA fragment
    // read fall in 32 distinct banks (row stride 36 or 20 words).
    private static int RowWords(int headDim) => (headDim / 4) + 4;

    // rows [r0, r0 + count) of an int8 [rows, D] matrix (row stride `stride`) into shared bytes, zeros past `limit`.
    private static void StageRows(ArrayView<sbyte> src, long origin, long stride, long r0, long limit, int count, int headDim, ArrayView<sbyte> dst, int tid)
    {
        int rowBytes = RowWords(headDim) * 4;
        for (int e = tid; e < count * headDim; e += headDim)
        {
            int r = e / headDim;
            int c = e - (r * headDim);
            dst[(r * rowBytes) + c] = r0 + r < limit ? src[origin + ((r0 + r) * stride) + c] : (sbyte)0;
        }
    }

    /// <inheritdoc />
    public float P(float p) => _fp8 != 0
        ? Fp8Math.DecodeE4M3(Fp8Math.EncodeE4M3(p * SageAttention.Fp8Max))
        : default(TCodec).Load(default(TCodec).Store(p));

    /// <inheritdoc />
    public float V(in FlashArgs a, int b, int hkv, long key, int ch)
    {
        if (_fp8 != 0)
        {
            return Fp8Math.DecodeE4M3(_vCodes[((((((long)b * a.KvHeads) + hkv) * a.KvLen) + key) * a.HeadDim) + ch]);
        }
        TCodec codec = default;
        return codec.Load(_v[a.Kv.Of(b, hkv, key) + ch]);
    }

    /// <inheritdoc />
    public float OutScale(in FlashArgs a, int b, int hkv, int ch) =>
        _fp8 != 0 ? _vScale[((((long)b * a.KvHeads) + hkv) * a.HeadDim) + ch] / SageAttention.Fp8Max : 1f;

    /// <inheritdoc />
    public float LseShift(in FlashArgs a, int b, int h, int hkv, long qi)
    {
        if (_hasMean == 0)
        {
            return 0f;
        }
        long qa = a.Q.Of(b, h, qi);
        long ma = (((long)b * a.KvHeads) + hkv) * a.HeadDim;
        float dot = 0f;
        for (int c = 0; c < a.HeadDim; c++)
        {
            dot += _q[qa + c] * _kMean[ma + c];
        }
        return dot * _qScale[((((long)b * a.Heads) + h) * _qBlocks) + (qi / _qRows)] * 0.693147180559945309f;
    }
}
