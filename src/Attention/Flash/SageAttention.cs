// sage_attention: SageAttention's quantized attention over INT8 Q/K (from qk_norm_rope_int8 or
// any quantizer with the same rule).
//
//   S   = (q_i8 . k_i8) * q_scale[b, h, i / QRows] * k_scale[b, hkv, j / 64]   base-2 logits:
//         sm_scale * log2(e) is folded into q_scale, K was smoothed (k - mean_n k)
//         k_rows=1: k_scale[j] per key token instead (k's shape without D: [B, Hkv, Nkv] for
//         hnd, [B, Nkv, Hkv] for nhd), for a KV cache written frame by frame (a 64-key block
//         would straddle frames quantized at different times)
//   P   = exp2(S - running max), l = sum of the fp32 P
//   O   = (P_op . V_op) * out_scale / l, fp32 accumulation, where
//         pv=fp16: P_op = P and V_op = v in v's own 16-bit type (f16, or bf16: a bf16 V above
//                  f16's 65504 stays finite), out_scale = 1
//         pv=fp8 : P_op = e4m3(P * 448), V_op = e4m3(v / v_scale[c]),
//                  v_scale[c] = max(max_n |v[n, c]| / 448, 1e-8), out_scale = v_scale[c] / 448
//   LSE = ln 2 * (m + log2 l) + (q_i8 . k_mean) * q_scale * ln 2 when k_mean is given
// The oracle is the emulation: double math over exactly these quantized operands (the fp8 V
// codes included) and P rounded as the kernels round it, tile by tile of 64 keys against the
// running max (AttentionReference); what remains is fp32-vs-double noise flipping a rounding.
// ILGPU: FlashEngine; S through Int8Mma (mma.sync m16n8k32 as inline PTX on a GPU, emulated
// lane-exactly on the CPU); the fp8 V pre-pass is three kernels (amax partials per
// 64-token chunk and channel, the exact max per channel, one code per element). CUDA: kernels/attention/sage_attention.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>How SageAttention multiplies P by V.</summary>
public enum SagePv
{
    /// <summary>P and V in V's 16-bit type (f16 or bf16), fp32 accumulation (Sage1, Sage2 8+16).</summary>
    Fp16 = 0,
    /// <summary>P * 448 and per-channel-scaled V in FP8 E4M3, fp32 accumulation (Sage2 8+8).</summary>
    Fp8 = 1,
}

/// <summary>SageAttention: INT8 QK^T with folded scales and exp2 softmax; P·V in f16 or FP8.</summary>
[Op("sage_attention", Cases = typeof(SageAttentionCases), Summary = "SageAttention: INT8 Q/K (per-block/per-warp scales, smoothed K), exp2 softmax, P·V in f16 or FP8 E4M3")]
public sealed partial class SageAttention : IOp<SageAttention.Params>
{
    /// <summary>Keys per K scale by default (Sage's K block, the key tile); k_rows=1 gives a scale per key.</summary>
    public const int KRows = 64;

    /// <summary>The E4M3 maximum P and V are scaled to.</summary>
    public const float Fp8Max = 448f;

    /// <summary>The floor of a V channel scale (an all-zero channel quantizes to zeros).</summary>
    public const float VScaleFloor = 1e-8f;

    private const double Ln2 = 0.6931471805599453;

    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of v and o (f16 or bf16).</param>
    /// <param name="Geometry">Extents, layout and mask (D at most 128).</param>
    /// <param name="QRows">Query rows per Q scale: 128 (per block), 32 or 16 (per warp), or 64.</param>
    /// <param name="Pv">P·V precision.</param>
    /// <param name="Lse">Whether the LSE is written.</param>
    /// <param name="HasKMean">Whether k_mean (the smoothing mean) is given, for the LSE.</param>
    /// <param name="KRows">Keys per K scale: 64 (Sage's block) or 1 (per key token, k's shape without D).</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, int QRows, SagePv Pv, bool Lse = false, bool HasKMean = false, int KRows = 64) : IOpParams
    {
        /// <summary>Q scales per head.</summary>
        public int QBlocks => (Geometry.QLen + QRows - 1) / QRows;

        /// <summary>K scales per head.</summary>
        public int KBlocks => (Geometry.KvLen + KRows - 1) / KRows;

        /// <summary>Shape of q_scale.</summary>
        public Shape QScaleShape => new(Geometry.Batch, Geometry.Heads, QBlocks);

        /// <summary>Shape of k_scale: [B, Hkv, ceil(Nkv / 64)], or with k_rows=1 k's shape without D ([B, Hkv, Nkv] hnd, [B, Nkv, Hkv] nhd).</summary>
        public Shape KScaleShape => KRows == 1 && Geometry.Layout == HeadLayout.Nhd
            ? new(Geometry.Batch, Geometry.KvLen, Geometry.KvHeads)
            : new(Geometry.Batch, Geometry.KvHeads, KBlocks);

        /// <summary>The flat index of key <paramref name="key"/>'s K scale for (b, hkv).</summary>
        public long KScaleAt(int b, int hkv, long key) => KRows == 1
            ? Geometry.KvStrides.Of(b, hkv, key) / Geometry.HeadDim
            : ((((long)b * Geometry.KvHeads) + hkv) * KBlocks) + (key / KRows);

        /// <summary>Shape of k_mean and of the V channel scales.</summary>
        public Shape ChannelShape => new(Geometry.Batch, Geometry.KvHeads, Geometry.HeadDim);

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} {Geometry.Label} q/{QRows} pv={(Pv == SagePv.Fp8 ? "fp8" : "fp16")}{(Lse ? " lse" : string.Empty)}{(HasKMean ? "+mean" : string.Empty)}{(KRows == SageAttention.KRows ? string.Empty : FormattableString.Invariant($" k/{KRows}"))}");
    }

    /// <summary>
    /// Runs sage_attention on the backend of <paramref name="q"/>: int8 q/k with their f32 scales,
    /// v and o in f16 or bf16; the geometry comes from q, k, v in <paramref name="layout"/>. With
    /// <paramref name="kRows"/> = 1, <paramref name="kScale"/> holds a scale per key token (k's shape
    /// without its last dim: a frame's scales are contiguous in an nhd cache).
    /// </summary>
    /// <exception cref="ArgumentException">A tensor's dtype or shape disagrees; the message names it, with the expected and actual shapes.</exception>
    public static void Run(Tensor q, Tensor qScale, Tensor k, Tensor kScale, Tensor v, Tensor o, HeadLayout layout, AttentionMask mask, int qRows, int kRows, SagePv pv,
        Tensor? kMean = null, Tensor? lse = null)
    {
        var p = Checked(q, qScale, k, kScale, v, layout, mask, qRows, kRows, pv, lse is not null, kMean is not null);
        var tensors = new OpTensors { { "q", q }, { "q_scale", qScale }, { "k", k }, { "k_scale", kScale }, { "v", v }, { "o", o } };
        if (kMean is not null)
        {
            tensors.Add("k_mean", kMean);
        }
        if (lse is not null)
        {
            tensors.Add("lse", lse);
        }
        Info.Run(q.Backend, p, tensors);
    }

    /// <summary>The parameters of a direct call, with q/k/v and the scales checked by name before any work.</summary>
    internal static Params Checked(Tensor q, Tensor qScale, Tensor k, Tensor kScale, Tensor v, HeadLayout layout, AttentionMask mask, int qRows, int kRows, SagePv pv,
        bool lse, bool hasKMean, string op = "sage_attention")
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(qScale);
        ArgumentNullException.ThrowIfNull(k);
        ArgumentNullException.ThrowIfNull(kScale);
        ArgumentNullException.ThrowIfNull(v);
        var g = AttentionGeometry.Of(op, q, k, v, layout, mask);
        foreach (var (name, t, want) in new[] { ("q", q, DType.I8), ("k", k, DType.I8), ("q_scale", qScale, DType.F32), ("k_scale", kScale, DType.F32) })
        {
            if (t.DType != want)
            {
                throw new ArgumentException($"{op}: {name} '{t.Name}' is {t.DType.Name()}; expected {want.Name()}", name);
            }
        }
        var p = new Params(v.DType, g, qRows, pv, lse, hasKMean, kRows);
        Signature(p);
        CheckScale(op, "q_scale", qScale, p.QScaleShape, FormattableString.Invariant($"q_rows={qRows}: [B, H, ceil(Nq / {qRows})]"));
        CheckKScale(op, kScale, p);
        return p;
    }

    /// <summary>Refuses a k_scale whose shape is not <paramref name="p"/>'s, naming it, with both shapes and the rule of its k_rows.</summary>
    internal static void CheckKScale(string op, Tensor kScale, Params p) =>
        CheckScale(op, "k_scale", kScale, p.KScaleShape, p.KRows == 1
            ? (p.Geometry.Layout == HeadLayout.Nhd ? "k_rows=1: k's shape without D, [B, Nkv, Hkv]" : "k_rows=1: k's shape without D, [B, Hkv, Nkv]")
            : "k_rows=64: [B, Hkv, ceil(Nkv / 64)]");

    private static void CheckScale(string op, string name, Tensor t, Shape want, string rule)
    {
        if (!t.Shape.Equals(want))
        {
            throw new ArgumentException($"{op}: {name} '{t.Name}' is {t.Shape}; expected {want} ({rule})", name);
        }
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        if (g.HeadDim > 128)
        {
            throw new ArgumentException($"sage_attention {g.Label}: head dim {g.HeadDim} above 128 is not supported (SageAttention's limit)", nameof(p));
        }
        g.Validate();
        if (p.DType != DType.F16 && p.DType != DType.BF16)
        {
            throw new ArgumentException($"sage_attention: v and o must be f16 or bf16, got {p.DType.Name()}", nameof(p));
        }
        if (p.QRows is not (16 or 32 or 64 or 128))
        {
            throw new ArgumentException($"sage_attention: {p.QRows} query rows per scale; expected 16, 32, 64 or 128", nameof(p));
        }
        if (p.KRows is not (1 or KRows))
        {
            throw new ArgumentException($"sage_attention: {p.KRows} keys per K scale; expected 64 (Sage's block) or 1 (per key token)", nameof(p));
        }
        // Scales such that S has a standard deviation of a few units (base 2) for random int8 q, k.
        var s = new OpSignature()
            .In("q", DType.I8, g.Q, InitSpec.Integers(-127, 127))
            .In("q_scale", DType.F32, p.QScaleShape, InitSpec.Uniform(6e-3, 1.4e-2))
            .In("k", DType.I8, g.Kv, InitSpec.Integers(-127, 127))
            .In("k_scale", DType.F32, p.KScaleShape, InitSpec.Uniform(6e-3, 1.4e-2))
            .In("v", p.DType, g.Kv, InitSpec.Gaussian(0, 1));
        if (p.HasKMean)
        {
            s.In("k_mean", DType.F32, p.ChannelShape, InitSpec.Gaussian(0, 0.5));
        }
        s.Out("o", p.DType, g.Q);
        return p.Lse ? s.Out("lse", DType.F32, g.Lse, tolerance: new Tolerance(1e-5)) : s;
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        var g = p.Geometry;
        double io = (2.0 * g.Q.ElementCount) + g.Kv.ElementCount + (g.Kv.ElementCount * p.DType.Size()) + (g.Q.ElementCount * p.DType.Size());
        return new(4.0 * g.Batch * g.Heads * g.VisiblePairs * g.HeadDim, io);
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding) => BindSage(binding, binding.Get(PvAttr) == "fp16" ? SagePv.Fp16 : SagePv.Fp8, binding.Get(Attention.LseAttr));

    /// <summary>Binds q/k/v and their scales with P.V in <paramref name="pv"/> (block-sparse attention passes its precision and no LSE).</summary>
    internal static Params BindSage(OpBinding binding, SagePv pv, bool lse)
    {
        var g = AttentionGeometry.Of(binding);
        var qScale = binding.Input("q_scale");
        int blocks = qScale.Rank == 3 ? (int)qScale.Shape[2] : 0;
        int given = binding.Get(QRowsAttr);
        int qRows = given > 0 ? ((g.QLen + given - 1) / given == blocks ? given : 0) : InferQRows(g.QLen, blocks);
        if (qRows == 0)
        {
            throw new ArgumentException($"sage_attention: q_scale '{qScale.Name}' {qScale.Shape} must be [B, H, ceil(Nq / rows)] for rows 16, 32, 64 or 128 (Nq = {g.QLen})", "q_scale");
        }
        int kRows = binding.Get(KRowsAttr);
        var p = new Params(binding.Input("v").DType, g, qRows, pv, lse, binding.Has("k_mean"), kRows == 0 ? KRows : kRows);
        CheckKScale(binding.Op, binding.Input("k_scale"), p);
        return p;
    }

    // Several row counts can give the same number of blocks (Nq = 40: one block of 64 or of 128):
    // the smallest is taken unless q_rows says otherwise.
    private static int InferQRows(int qLen, int blocks) => blocks > 0 ? QRowChoices.FirstOrDefault(r => (qLen + r - 1) / r == blocks) : 0;

    private static readonly int[] QRowChoices = [16, 32, 64, 128];

    /// <summary>q_rows: query rows per q_scale entry.</summary>
    internal static OpAttr<int> QRowsAttr { get; } = OpAttr.IntChoice("q_rows", "inferred from q_scale (the smallest that fits)", "query rows per q_scale entry", QRowChoices);

    /// <summary>k_rows: keys per k_scale entry (0, not given, is 64).</summary>
    internal static OpAttr<int> KRowsAttr { get; } = OpAttr.IntChoice("k_rows", "64", "keys per k_scale entry: 64 (Sage's block) or 1 (per key token; k_scale is k's shape without D)", KRows, 1);

    /// <summary>The k_rows value that binds back to <paramref name="kRows"/>: 0 (not given) for the default 64.</summary>
    internal static int KRowsValue(int kRows) => kRows == KRows ? 0 : kRows;

    /// <summary>pv=fp8|fp16: P·V precision.</summary>
    internal static OpAttr<string> PvAttr { get; } = OpAttr.Choice("pv", "fp8", "P.V precision: fp8 (e4m3 P and per-channel V) or fp16", "fp8", "fp16");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = AttentionGeometry.Attributes.With(QRowsAttr, KRowsAttr, PvAttr, Attention.LseAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        p.Geometry.Describe(new()).Set(QRowsAttr, QRowsValue(p.Geometry.QLen, p.QRows)).Set(KRowsAttr, KRowsValue(p.KRows)).Set(PvAttr, p.Pv == SagePv.Fp16 ? "fp16" : "fp8").Set(Attention.LseAttr, p.Lse);

    /// <summary>The q_rows value that binds back to <paramref name="qRows"/>: 0 (not given) when inference finds it.</summary>
    internal static int QRowsValue(int qLen, int qRows) => InferQRows(qLen, (qLen + qRows - 1) / qRows) == qRows ? 0 : qRows;

    /// <summary>The emulated oracle: double math over the quantized operands (see the file comment).</summary>
    public static void Reference(Params p, OpTensors t) => Reference(p, t, null);

    /// <summary>The emulated oracle with keys removed by <paramref name="keep"/> (block-sparse attention).</summary>
    internal static void Reference(Params p, OpTensors t, AttentionReference.KeyFilter? keep)
    {
        var g = p.Geometry;
        var q = t.Read("q");
        var k = t.Read("k");
        var qScale = t.Read("q_scale");
        var kScale = t.Read("k_scale");
        var v = VOperand(p, t.Read("v"));
        var kMean = p.HasKMean ? t.Read("k_mean") : null;
        var qs = g.QStrides;
        var ks = g.KvStrides;
        double QScaleOf(int b, int h, long i) => qScale[(((long)b * g.Heads) + h) * p.QBlocks + (i / p.QRows)];
        var (o, lse) = AttentionReference.Run(g,
            (b, h, hkv, i, j) => AttentionReference.Dot(q, qs.Of(b, h, i), k, ks.Of(b, hkv, j), g.HeadDim)
                * QScaleOf(b, h, i) * kScale[p.KScaleAt(b, hkv, j)] * Ln2,
            (b, hkv, j, c) => v[ks.Of(b, hkv, j) + c],
            kMean is null ? null : (b, h, hkv, i) =>
                AttentionReference.Dot(q, qs.Of(b, h, i), kMean, (((long)b * g.KvHeads) + hkv) * g.HeadDim, g.HeadDim) * QScaleOf(b, h, i) * Ln2,
            p.Pv == SagePv.Fp8
                ? e => Fp8Math.DecodeE4M3(Fp8Math.EncodeE4M3((float)(e * Fp8Max))) / (double)Fp8Max
                : p.DType == DType.BF16 ? e => BFloat16.FromDouble(e).ToSingle() : e => (double)(System.Half)(float)e,
            keep);
        t.Write("o", o);
        if (p.Lse)
        {
            t.Write("lse", lse);
        }
    }

    /// <summary>V as the P·V operand (dequantized): v itself (already in its 16-bit type), or the E4M3 code times its channel scale.</summary>
    public static double[] VOperand(Params p, double[] v)
    {
        ArgumentNullException.ThrowIfNull(v);
        var g = p.Geometry;
        var ks = g.KvStrides;
        var result = new double[v.Length];
        if (p.Pv == SagePv.Fp16)
        {
            Array.Copy(v, result, v.Length);
            return result;
        }
        for (int b = 0; b < g.Batch; b++)
        {
            for (int hkv = 0; hkv < g.KvHeads; hkv++)
            {
                for (int c = 0; c < g.HeadDim; c++)
                {
                    float amax = 0f;
                    for (long j = 0; j < g.KvLen; j++)
                    {
                        amax = Math.Max(amax, Math.Abs((float)v[ks.Of(b, hkv, j) + c]));
                    }
                    float scale = QuantMath.Scale(amax, Fp8Max, VScaleFloor);
                    for (long j = 0; j < g.KvLen; j++)
                    {
                        long at = ks.Of(b, hkv, j) + c;
                        result[at] = (double)Fp8Math.DecodeE4M3(Fp8Math.EncodeE4M3((float)v[at] / scale)) * scale;
                    }
                }
            }
        }
        return result;
    }

    /// <summary>ILGPU: the fp8 V pre-pass, then <see cref="FlashEngine"/> with <see cref="SageTile{T, TCodec}"/>.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t)
    {
        if (p.DType == DType.F16)
        {
            new Launcher(backend, p, t).Visit<ILGPU.Half, F16Codec>();
        }
        else
        {
            new Launcher(backend, p, t).Visit<ushort, Bf16Codec>();
        }
    }

    /// <summary>CUDA: kernels/attention/sage_attention.cu, on 9.x devices kernels/hopper/sage_attention_sm90.cu (the fp8 V workspace comes from here).</summary>
    [CudaKernel("sm_80", "sage_attention_mma_sm80", "f16/bf16 V, 16-bit or FP8 P·V")]
    [CudaKernel("sm_90", "sage_attention_sm90_<dtype>_d<D>_<pv>", "D 64 or 128, a K scale per 64 keys, 16-byte-aligned operands")]
    [CudaKernel("sm_90", "sage_attention_sm90_<dtype>_d<D>_<pv>_kpt", "D 64 or 128, a K scale per key token")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        bool fp8 = p.Pv == SagePv.Fp8;
        // The pre-pass's e4m3 codes, [B, Hkv, D, Nkv rounded up to 64] (VCodeCount).
        long vCount = VCodeCount(g);
        using var vFp8 = fp8 ? backend.Workspaces.Rent(DType.U8, new Shape(vCount), "v_fp8") : null;
        using var vScale = fp8 ? backend.Workspaces.Rent(DType.F32, new Shape(p.ChannelShape.ElementCount), "v_scale") : null;
        ZtNative.SageAttention(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
            g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, g.DefaultScale, p.QRows, p.KRows, (int)p.Pv, p.Lse ? 1 : 0,
            g.Q.ElementCount, g.Kv.ElementCount, g.Lse.ElementCount, p.QScaleShape.ElementCount, p.KScaleShape.ElementCount, p.ChannelShape.ElementCount, vCount,
            Attention.Flat(t["q"]), Attention.Flat(t["q_scale"]), Attention.Flat(t["k"]), Attention.Flat(t["k_scale"]), Attention.Flat(t["v"]),
            p.HasKMean ? Attention.Flat(t["k_mean"]) : null, vFp8, vScale, Attention.Flat(t["o"]), p.Lse ? Attention.Flat(t["lse"]) : null);
        OpNotes.RecordNativeKernel("sage_attention");
    }

    /// <summary>
    /// Bytes of the CUDA pre-pass's V codes: [B, Hkv, D, Nkv rounded up to 64] (channel-major, so a
    /// key tile is D rows of 64 bytes for cp.async; kernels/attention/flash_traits.cuh).
    /// </summary>
    public static long VCodeCount(AttentionGeometry g) => (long)g.Batch * g.KvHeads * g.HeadDim * ((g.KvLen + KRows - 1L) / KRows * KRows);

    /// <summary>Tokens per partial amax of the fp8 V pre-pass (one thread's share of a channel).</summary>
    public const int VChunk = 64;

    /// <summary>Partial amaxes per (b, hkv, channel): ceil(Nkv / VChunk).</summary>
    public static int VChunks(AttentionGeometry g) => (g.KvLen + VChunk - 1) / VChunk;

    /// <summary>
    /// fp8 V pre-pass, step 1 of 3: the amax of channel i.X (flat over b, hkv, channel) on tokens
    /// [i.Y * VChunk, + VChunk) into partial[i.Y, i.X]: a warp reads consecutive channels of one token.
    /// </summary>
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void VAmaxKernel<T, TCodec>(Index2D i, VArgs a, ArrayView<T> v, ArrayView<float> partial)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        long j0 = (long)i.Y * VChunk;
        long j1 = ILGPU.Algorithms.XMath.Min(j0 + VChunk, (long)a.KvLen);
        long at = a.Channel(i.X);
        float amax = 0f;
        for (long j = j0; j < j1; j++)
        {
            amax = ILGPU.Algorithms.XMath.Max(amax, ILGPU.Algorithms.XMath.Abs(codec.Load(v[at + (j * a.Token)])));
        }
        partial[((long)i.Y * a.Channels) + i.X] = amax;
    }

    /// <summary>
    /// fp8 V pre-pass, step 2 of 3: channel i's scale from its <paramref name="chunks"/> partial amaxes
    /// (max is exact, so the order cannot change the result).
    /// </summary>
    [IlgpuKernel]
    internal static void VScaleKernel(Index1D i, int chunks, ArrayView<float> partial, ArrayView<float> scales)
    {
        int channels = scales.IntLength;
        float amax = 0f;
        for (int k = 0; k < chunks; k++)
        {
            amax = ILGPU.Algorithms.XMath.Max(amax, partial[((long)k * channels) + i]);
        }
        scales[i] = QuantMath.Scale(amax, Fp8Max, VScaleFloor);
    }

    /// <summary>fp8 V pre-pass, step 3 of 3: element i of the codes [B, Hkv, Nkv, D] = e4m3(v / scale[channel]).</summary>
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void VQuantKernel<T, TCodec>(Index1D i, VArgs a, ArrayView<T> v, ArrayView<byte> codes, ArrayView<float> scales)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        int c = i % a.HeadDim;
        long token = i / a.HeadDim;
        long bh = token / a.KvLen;
        long j = token - (bh * a.KvLen);
        long channel = (bh * a.HeadDim) + c;
        codes[i] = Fp8Math.EncodeE4M3(codec.Load(v[a.Channel(channel) + (j * a.Token)]) / scales[channel]);
    }

    /// <summary>
    /// The pre-pass kernels' scalars: a few ints and strides rather than <see cref="FlashArgs"/>,
    /// whose size ILGPU copies through local memory when a member of it is called.
    /// </summary>
    internal readonly struct VArgs(AttentionGeometry g)
    {
        /// <summary>Extents.</summary>
        public readonly int KvHeads = g.KvHeads, KvLen = g.KvLen, HeadDim = g.HeadDim, Channels = g.Batch * g.KvHeads * g.HeadDim;

        /// <summary>Strides of v.</summary>
        public readonly long Batch = g.KvStrides.Batch, Head = g.KvStrides.Head, Token = g.KvStrides.Token;

        /// <summary>Offset of token 0 of flat channel <paramref name="channel"/> (over b, hkv, c).</summary>
        public long Channel(long channel)
        {
            long bh = channel / HeadDim;
            long b = bh / KvHeads;
            return (b * Batch) + ((bh - (b * KvHeads)) * Head) + (channel - (bh * HeadDim));
        }
    }

    /// <summary>The attention kernel: one group of D threads per 16 query rows.</summary>
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(FlashArgs a, SageTile<T, TCodec> tile, ArrayView<T> o, ArrayView<float> lse)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        FlashEngine.Run<SageTile<T, TCodec>, T, TCodec>(a, tile, o, lse);

    /// <summary>A <see cref="SageTile{T, TCodec}"/> over a run's tensors, with the fp8 V pre-pass done; owns the pre-pass buffers.</summary>
    internal sealed class Prepared<T, TCodec> : IDisposable
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        private readonly Tensor _codes;
        private readonly Tensor _vScale;

        /// <summary>Runs the pre-pass (pv=fp8) and builds the tile; <paramref name="unused"/> stands in for absent optional tensors.</summary>
        public Prepared(IlgpuBackend backend, Params p, OpTensors t, Tensor unused)
        {
            var g = p.Geometry;
            bool fp8 = p.Pv == SagePv.Fp8;
            _codes = backend.Workspaces.Rent(DType.U8, new Shape(fp8 ? Math.Max(1, g.Kv.ElementCount) : 1), "v_fp8");
            _vScale = backend.Workspaces.Rent(DType.F32, new Shape(fp8 ? Math.Max(1, p.ChannelShape.ElementCount) : 1), "v_scale");
            try
            {
                Tile = PrePass(backend, p, t, unused, fp8);
            }
            catch
            {
                // A half-built pre-pass hands its workspaces back; the caller never gets it to dispose.
                Dispose();
                throw;
            }
        }

        private SageTile<T, TCodec> PrePass(IlgpuBackend backend, Params p, OpTensors t, Tensor unused, bool fp8)
        {
            var g = p.Geometry;
            if (fp8 && g.KvLen > 0)
            {
                // amax partials per (token chunk, channel), then the scales, then the codes: every
                // step spreads over the whole tensor instead of one thread per channel over every token.
                int channels = checked((int)p.ChannelShape.ElementCount);
                int chunks = VChunks(g);
                using var partial = backend.Workspaces.Rent(DType.F32, new Shape((long)chunks * channels), "v_amax");
                var args = new VArgs(g);
                var amax = backend.Kernel(VAmaxKernel<T, TCodec>, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index2D, VArgs, ArrayView<T>, ArrayView<float>>(VAmaxKernel<T, TCodec>));
                amax(new Index2D(channels, chunks), args, backend.View<T>(t["v"]), backend.View<float>(partial));
                var scale = backend.Kernel(VScaleKernel, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index1D, int, ArrayView<float>, ArrayView<float>>(VScaleKernel));
                scale(channels, chunks, backend.View<float>(partial), backend.View<float>(_vScale));
                var quant = backend.Kernel(VQuantKernel<T, TCodec>, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index1D, VArgs, ArrayView<T>, ArrayView<byte>, ArrayView<float>>(VQuantKernel<T, TCodec>));
                quant(checked((int)g.Kv.ElementCount), args, backend.View<T>(t["v"]), backend.View<byte>(_codes), backend.View<float>(_vScale));
            }
            return new SageTile<T, TCodec>(
                backend.View<sbyte>(t["q"]), backend.View<float>(t["q_scale"]), backend.View<sbyte>(t["k"]), backend.View<float>(t["k_scale"]),
                backend.View<T>(t["v"]), backend.View<byte>(_codes), backend.View<float>(_vScale),
                backend.View<float>(p.HasKMean ? t["k_mean"] : unused), p.QRows, p.QBlocks, p.KBlocks, p.KRows, fp8 ? 1 : 0, p.HasKMean ? 1 : 0);
        }

        /// <summary>The tile.</summary>
        public SageTile<T, TCodec> Tile { get; }

        /// <inheritdoc />
        public void Dispose()
        {
            _codes.Dispose();
            _vScale.Dispose();
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t)
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            long groups = FlashEngine.Groups(g);
            if (groups == 0)
            {
                return;
            }
            using var unused = backend.Workspaces.Rent(DType.F32, new Shape(1), "unused");
            using var prepared = new Prepared<T, TCodec>(backend, p, t, unused);
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<FlashArgs, SageTile<T, TCodec>, ArrayView<T>, ArrayView<float>>(Kernel<T, TCodec>));
            kernel(new KernelConfig(checked((int)groups), FlashEngine.Threads(g)), new FlashArgs(g, p.Lse), prepared.Tile, backend.View<T>(t["o"]),
                backend.View<float>(p.Lse ? t["lse"] : unused));
            backend.Synchronize();
        }
    }
}
