// attention: o = softmax(q k^T * scale + mask) v, flash-style (tiled, online softmax, the N x N
// scores never materialised), f32 accumulation, optional LSE (natural log).
//
// Inputs q [B, H, Nq, D] and k, v [B, Hkv, Nkv, D] (HND) or the NHD transposes, addressed by
// strides; GQA when Hkv < H; Nq != Nkv (queries are the last Nq positions); D in {64, 128}; masks
// none, causal, block-causal with window and sinks (AttentionMask). f16/bf16 (and f32 for
// checking) in and out. ILGPU: FlashEngine with fp32 scores and fp32 P (SIMT FMA: tensor-core
// MMA for f16 is not reachable from ILGPU's PTX ISA 7.8 without emulation); CUDA:
// kernels/attention/attention.cu (mma.sync m16n8k16, ldmatrix, cp.async double buffering).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>Dense flash attention with masks, GQA and both head layouts.</summary>
[Op("attention", Cases = typeof(AttentionCases), Summary = "flash attention: online softmax, f32 accumulation, HND/NHD, GQA, causal/block-causal masks, optional LSE")]
public sealed partial class Attention : IOp<Attention.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of q, k, v and o.</param>
    /// <param name="Geometry">Extents, layout and mask.</param>
    /// <param name="Scale">Softmax scale (1/sqrt(D) by default).</param>
    /// <param name="Lse">Whether the LSE [B, H, Nq] is written.</param>
    public readonly record struct Params(DType DType, AttentionGeometry Geometry, float Scale, bool Lse) : IOpParams
    {
        /// <summary>With the default scale.</summary>
        public Params(DType dtype, AttentionGeometry geometry, bool lse = false)
            : this(dtype, geometry, geometry.DefaultScale, lse)
        {
        }

        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} {Geometry.Label}{(Lse ? " lse" : string.Empty)}");
    }

    /// <summary>Runs on the backend of <paramref name="q"/>; pass <paramref name="lse"/> to get the LSE.</summary>
    public static void Run(Tensor q, Tensor k, Tensor v, Tensor o, HeadLayout layout, AttentionMask mask, Tensor? lse = null, float? scale = null)
    {
        var g = AttentionGeometry.Of("attention", q, k, v, layout, mask);
        var tensors = new OpTensors { { "q", q }, { "k", k }, { "v", v }, { "o", o } };
        if (lse is not null)
        {
            tensors.Add("lse", lse);
        }
        Info.Run(q.Backend, new Params(q.DType, g, scale ?? g.DefaultScale, lse is not null), tensors);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        g.Validate();
        if (!FloatTypes.Supported.Contains(p.DType))
        {
            throw new ArgumentException($"attention: q, k and v must be f16, bf16 or f32, got {p.DType.Name()}", nameof(p));
        }
        var s = new OpSignature()
            .In("q", p.DType, g.Q, InitSpec.Gaussian(0, 1))
            .In("k", p.DType, g.Kv, InitSpec.Gaussian(0, 1))
            .In("v", p.DType, g.Kv, InitSpec.Gaussian(0, 1))
            .Out("o", p.DType, g.Q);
        return p.Lse ? s.Out("lse", DType.F32, g.Lse, tolerance: new Tolerance(1e-5)) : s;
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        var g = p.Geometry;
        double io = (2.0 * g.Q.ElementCount) + (2.0 * g.Kv.ElementCount);
        return new(4.0 * g.Batch * g.Heads * g.VisiblePairs * g.HeadDim, io * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var g = AttentionGeometry.Of(binding);
        float scale = binding.Get(ScaleAttr);
        return new Params(binding.Input("q").DType, g, float.IsNaN(scale) ? g.DefaultScale : scale, binding.Get(LseAttr));
    }

    /// <summary>scale: the softmax scale.</summary>
    internal static OpAttr<float> ScaleAttr { get; } = OpAttr.ComputedFloat("scale", "1/sqrt(head dim)", "softmax scale applied to q.k", min: 0);

    /// <summary>lse=true writes the LSE output.</summary>
    internal static OpAttr<bool> LseAttr { get; } = OpAttr.Bool("lse", false, "also write lse [B, H, Nq] f32 (natural log)");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = AttentionGeometry.Attributes.With(ScaleAttr, LseAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        p.Geometry.Describe(new()).Set(ScaleAttr, p.Scale == p.Geometry.DefaultScale ? float.NaN : p.Scale).Set(LseAttr, p.Lse);

    /// <summary>The oracle: double logits and softmax over the stored inputs.</summary>
    public static void Reference(Params p, OpTensors t) => Reference(p, t, null);

    /// <summary>The oracle with keys removed by <paramref name="keep"/> (block-sparse attention).</summary>
    internal static void Reference(Params p, OpTensors t, AttentionReference.KeyFilter? keep)
    {
        var (o, lse) = ReferenceOutputs(p, t, keep);
        t.Write("o", o);
        if (p.Lse)
        {
            t.Write("lse", lse);
        }
    }

    /// <summary>The oracle's o and LSE in double, before rounding to the output type (SLA adds its linear branch to o).</summary>
    internal static (double[] O, double[] Lse) ReferenceOutputs(Params p, OpTensors t, AttentionReference.KeyFilter? keep)
    {
        var g = p.Geometry;
        var q = t.Read("q");
        var k = t.Read("k");
        var v = t.Read("v");
        var qs = g.QStrides;
        var ks = g.KvStrides;
        double scale = p.Scale;
        return AttentionReference.Run(g,
            (b, h, hkv, i, j) => AttentionReference.Dot(q, qs.Of(b, h, i), k, ks.Of(b, hkv, j), g.HeadDim) * scale,
            (b, hkv, j, c) => v[ks.Of(b, hkv, j) + c], keep: keep);
    }

    /// <summary>ILGPU: <see cref="FlashEngine"/> with fp32 scores.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/attention/attention.cu.</summary>
    [CudaKernel("sm_80", "attention_mma_sm80", "f16/bf16")]
    [CudaKernel("sm_90", "attention_sm90_<dtype>_d<D>", "f16/bf16, D 64 or 128, q, k, v 16-byte aligned")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        if (p.DType == DType.F32)
        {
            throw new NotSupportedException("attention on the cuda backend takes f16 or bf16 (its tensor-core kernel has no f32 path); use ilgpu-cuda for f32");
        }
        ZtNative.Attention(backend, p.DType, g.Batch, g.Heads, g.KvHeads, g.QLen, g.KvLen, g.HeadDim, (int)g.Layout,
            g.Mask.KindCode, g.Mask.BlockTokens, g.Mask.WindowBlocks, g.Mask.SinkBlocks, p.Scale, p.Lse ? 1 : 0,
            g.Q.ElementCount, g.Kv.ElementCount, g.Lse.ElementCount,
            Flat(t["q"]), Flat(t["k"]), Flat(t["v"]), Flat(t["o"]), p.Lse ? Flat(t["lse"]) : null);
        OpNotes.RecordNativeKernel("attention");
    }

    /// <summary>A tensor as the flat vector the C ABI declares (the kernel addresses it by strides).</summary>
    internal static Tensor Flat(Tensor t) => t.Reshape(new Shape(t.ElementCount), t.Name);

    /// <summary>The ILGPU kernel: one group of D threads per 16 query rows.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(FlashArgs a, DenseTile<T, TCodec> tile, ArrayView<T> o, ArrayView<float> lse)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        FlashEngine.Run<DenseTile<T, TCodec>, T, TCodec>(a, tile, o, lse);

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
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
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<FlashArgs, DenseTile<T, TCodec>, ArrayView<T>, ArrayView<float>>(Kernel<T, TCodec>));
            var tile = new DenseTile<T, TCodec>(backend.View<T>(t["q"]), backend.View<T>(t["k"]), backend.View<T>(t["v"]), p.Scale * 1.4426950408889634f);
            using var unused = p.Lse ? null : backend.Workspaces.Rent(DType.F32, new Shape(1), "lse_unused");
            kernel(new KernelConfig(checked((int)groups), FlashEngine.Threads(g)), new FlashArgs(g, p.Lse), tile, backend.View<T>(t["o"]), backend.View<float>(unused ?? t["lse"]));
            backend.Synchronize();
        }
    }
}

/// <summary>Dense scores: fp32 dot products of q (times scale * log2 e) and k, both staged in shared memory; V and P in fp32.</summary>
internal readonly struct DenseTile<T, TCodec> : IFlashTile
    where T : unmanaged
    where TCodec : struct, IElementCodec<T>
{
    private readonly ArrayView<T> _q;
    private readonly ArrayView<T> _k;
    private readonly ArrayView<T> _v;
    private readonly float _scaleLog2;

    /// <summary>Over q, k, v with scale * log2(e) folded in.</summary>
    public DenseTile(ArrayView<T> q, ArrayView<T> k, ArrayView<T> v, float scaleLog2)
    {
        _q = q;
        _k = k;
        _v = v;
        _scaleLog2 = scaleLog2;
    }

    /// <inheritdoc />
    public void Begin(in FlashArgs a, int b, int h, long q0, ArrayView<float> qTile, int tid)
    {
        // Q times scale * log2(e), once per query tile: the D threads read one row's D channels at a time.
        TCodec codec = default;
        int d = a.HeadDim;
        for (int e = tid; e < FlashEngine.TileQ * d; e += d)
        {
            int r = e / d;
            int c = e - (r * d);
            long qi = q0 + r;
            qTile[e] = qi < a.QLen ? codec.Load(_q[a.Q.Of(b, h, qi) + c]) * _scaleLog2 : 0f;
        }
    }

    /// <inheritdoc />
    public void Scores(in FlashArgs a, int b, int h, int hkv, long q0, long k0, ArrayView<float> s, ArrayView<float> kTile, ArrayView<float> qTile, int tid)
    {
        TCodec codec = default;
        int d = a.HeadDim;
        // K tile: one key's D channels per pass (coalesced), zeros past KvLen.
        for (int e = tid; e < FlashEngine.TileK * d; e += d)
        {
            int key = e / d;
            int c = e - (key * d);
            kTile[(key * FlashEngine.KvStride) + c] = k0 + key < a.KvLen ? codec.Load(_k[a.Kv.Of(b, hkv, k0 + key) + c]) : 0f;
        }
        Group.Barrier();
        // Each warp takes row quads warp, warp + warps, ...; a lane owns keys lane and lane + 32
        // of its quad's 4 rows: per channel 2 K reads (odd stride: 32 banks) and 4 broadcast Q reads for 8 FMAs.
        int lane = tid % FlashEngine.Lanes;
        int warps = d / FlashEngine.Lanes;
        int ka = lane * FlashEngine.KvStride;
        int kb = (lane + 32) * FlashEngine.KvStride;
        for (int quad = tid / FlashEngine.Lanes; quad < FlashEngine.TileQ / 4; quad += warps)
        {
            int qa = quad * 4 * d;
            float s00 = 0f, s01 = 0f, s10 = 0f, s11 = 0f, s20 = 0f, s21 = 0f, s30 = 0f, s31 = 0f;
            for (int c = 0; c < d; c++)
            {
                float x0 = kTile[ka + c];
                float x1 = kTile[kb + c];
                float q0v = qTile[qa + c];
                float q1v = qTile[qa + d + c];
                float q2v = qTile[qa + (2 * d) + c];
                float q3v = qTile[qa + (3 * d) + c];
                s00 += q0v * x0; s01 += q0v * x1;
                s10 += q1v * x0; s11 += q1v * x1;
                s20 += q2v * x0; s21 += q2v * x1;
                s30 += q3v * x0; s31 += q3v * x1;
            }
            int sr = quad * 4 * FlashEngine.SStride;
            s[sr + lane] = s00;
            s[sr + lane + 32] = s01;
            s[sr + FlashEngine.SStride + lane] = s10;
            s[sr + FlashEngine.SStride + lane + 32] = s11;
            s[sr + (2 * FlashEngine.SStride) + lane] = s20;
            s[sr + (2 * FlashEngine.SStride) + lane + 32] = s21;
            s[sr + (3 * FlashEngine.SStride) + lane] = s30;
            s[sr + (3 * FlashEngine.SStride) + lane + 32] = s31;
        }
    }

    /// <inheritdoc />
    public float P(float p) => p;

    /// <inheritdoc />
    public float V(in FlashArgs a, int b, int hkv, long key, int ch)
    {
        TCodec codec = default;
        return codec.Load(_v[a.Kv.Of(b, hkv, key) + ch]);
    }

    /// <inheritdoc />
    public float OutScale(in FlashArgs a, int b, int hkv, int ch) => 1f;

    /// <inheritdoc />
    public float LseShift(in FlashArgs a, int b, int h, int hkv, long qi) => 0f;
}
