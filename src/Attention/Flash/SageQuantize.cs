// sage_quantize: SageAttention's INT8 quantization of an already-normed, rotated q or k, with the
// rule of qk_norm_rope_int8 (src/Attention/Rope/QkNormRopeInt8.cs) applied to the attention tensor
// itself (f32, f16 or bf16; HND [B, H, N, D] or NHD [B, N, H, D]):
//
//   v   = (x - mean) * q_scale           role=k: mean over all N tokens per (b, h, channel), q_scale 1;
//                                        role=q: no mean, q_scale = sm_scale * log2(e) folded in
//   scale[b, h, blk] = max(amax(|v| over blk's rows) / 127, 1e-8)     rows 128 (q; 32/16 per warp), 64 (k)
//   q   = clamp(round_half_even(v / scale), -127, 127), in x's layout
//
// Everything after the mean is fp32 with IEEE division (QuantMath), and the mean is a double sum in
// one fixed order on every backend (chunk sums of 64 tokens, then the chunks in 8 contiguous runs
// added in run order: QkNormRopeInt8.MeanKernel's order), rounded once to f32. The oracle emulates
// exactly that arithmetic (it is not a double-precision ideal), so the outputs are bit-exact on every
// backend: the inputs are f32-representable and no step depends on the machine. Given the same f32
// rows, qk_norm_rope_int8's kernels compute the same codes, scales and mean (a test checks it); its
// own oracle is double up to v' and so differs from both by a step at rounding boundaries.
// ILGPU: PartialKernel, QkNormRopeInt8.MeanKernel, QuantKernel. CUDA: kernels/attention/sage_quantize.cu.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Attention.Rope;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Flash;

/// <summary>SageAttention's INT8 quantization of q (sm_scale folded, per-block/per-warp scales) or k (smoothed, 64-row scales).</summary>
[Op("sage_quantize", Cases = typeof(SageQuantizeCases), Summary = "Sage INT8 quantization of a normed, rotated q (sm_scale*log2e folded) or k (mean-smoothed): per-block scales, HND/NHD")]
public sealed partial class SageQuantize : IOp<SageQuantize.Params>
{
    /// <summary>Tokens per partial sum of the mean (the same chunks as qk_norm_rope_int8).</summary>
    public const int MeanRows = QkNormRopeInt8.MeanRows;

    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Heads">H.</param>
    /// <param name="Tokens">N.</param>
    /// <param name="HeadDim">D.</param>
    /// <param name="Layout">HND or NHD, for x and the codes.</param>
    /// <param name="Smooth">role=k: subtract the per-channel mean (written to 'mean'); role=q: fold sm_scale * log2(e).</param>
    /// <param name="Rows">Tokens per scale: 128, 32 or 16 for q, 64 for k (any of the four is accepted).</param>
    public readonly record struct Params(DType DType, int Batch, int Heads, int Tokens, int HeadDim, HeadLayout Layout, bool Smooth, int Rows) : IOpParams
    {
        /// <summary>Scales per head.</summary>
        public int Blocks => (Tokens + Rows - 1) / Rows;

        /// <summary>Shape of x and of the codes.</summary>
        public Shape X => Layout == HeadLayout.Hnd ? new(Batch, Heads, Tokens, HeadDim) : new(Batch, Tokens, Heads, HeadDim);

        /// <summary>Strides of x and of the codes.</summary>
        public HeadStrides Strides => HeadStrides.Contiguous(Layout, Heads, Tokens, HeadDim);

        /// <summary>Shape of the scales, [B, H, blocks].</summary>
        public Shape ScaleShape => new(Batch, Heads, Blocks);

        /// <summary>Shape of the mean, [B, H, D].</summary>
        public Shape MeanShape => new(Batch, Heads, HeadDim);

        /// <summary>The factor folded in before quantizing: sm_scale * log2(e) = log2(e) / sqrt(D) for q (as qk_norm_rope_int8), 1 for k.</summary>
        public float QScale => Smooth ? 1f : (float)(Math.Log2(Math.E) / Math.Sqrt(HeadDim));

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} {(Layout == HeadLayout.Hnd ? "hnd" : "nhd")} B={Batch} H={Heads} N={Tokens} D={HeadDim} {(Smooth ? "k" : "q")}/{Rows}");

        /// <summary>Sage Q: sm_scale * log2(e) folded in, <paramref name="rows"/> tokens per scale (128 per block, 32 or 16 per warp).</summary>
        public static Params Query(DType dtype, int batch, int heads, int tokens, int headDim, HeadLayout layout, int rows = 128) =>
            new(dtype, batch, heads, tokens, headDim, layout, false, rows);

        /// <summary>Sage K: smoothed, 64 tokens per scale.</summary>
        public static Params Key(DType dtype, int batch, int heads, int tokens, int headDim, HeadLayout layout) =>
            new(dtype, batch, heads, tokens, headDim, layout, true, SageAttention.KRows);
    }

    /// <summary>Runs on the backend of <paramref name="x"/>; pass <paramref name="mean"/> exactly when <paramref name="p"/> smooths (role=k).</summary>
    public static void Run(Params p, Tensor x, Tensor q, Tensor scale, Tensor? mean)
    {
        ArgumentNullException.ThrowIfNull(x);
        var tensors = new OpTensors { { "x", x }, { "q", q }, { "scale", scale } };
        if (mean is not null)
        {
            tensors.Add("mean", mean);
        }
        Info.Run(x.Backend, p, tensors);
    }

    /// <summary>Checks the parameters; the error names the value and what is expected.</summary>
    public static void Validate(Params p)
    {
        if (!FloatTypes.Supported.Contains(p.DType))
        {
            throw new ArgumentException($"sage_quantize: x is {p.DType.Name()}; expected f16, bf16 or f32", nameof(p));
        }
        if (p.Batch < 1 || p.Heads < 1 || p.Tokens < 1 || p.HeadDim < 1)
        {
            throw new ArgumentException($"sage_quantize: extents B={p.Batch} H={p.Heads} N={p.Tokens} D={p.HeadDim}; expected each at least 1", nameof(p));
        }
        if (p.Rows is not (16 or 32 or 64 or 128))
        {
            throw new ArgumentException($"sage_quantize: {p.Rows} tokens per scale; Sage uses 128, 64, 32 or 16", nameof(p));
        }
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        Validate(p);
        var s = new OpSignature()
            .In("x", p.DType, p.X, InitSpec.Gaussian(0.25, 1))
            .Out("q", DType.I8, p.X, exact: true)
            .Out("scale", DType.F32, p.ScaleShape, exact: true);
        return p.Smooth ? s.Out("mean", DType.F32, p.MeanShape, exact: true) : s;
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        // x read twice (amax, then codes; the second mostly from cache) plus once more for the mean.
        double n = (double)p.Batch * p.Heads * p.Tokens * p.HeadDim;
        return new((p.Smooth ? 6 : 4) * n, n * ((p.DType.Size() * (p.Smooth ? 2 : 1)) + 1));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        if (x.Rank != 4)
        {
            throw new ArgumentException($"sage_quantize: x '{x.Name}' is {x.Shape}; expected [B, H, N, D] (layout=hnd) or [B, N, H, D] (layout=nhd)", "x");
        }
        var layout = binding.Get(AttentionGeometry.LayoutAttr) == "nhd" ? HeadLayout.Nhd : HeadLayout.Hnd;
        int b = (int)x.Shape[0], d = (int)x.Shape[3];
        int h = (int)(layout == HeadLayout.Hnd ? x.Shape[1] : x.Shape[2]), n = (int)(layout == HeadLayout.Hnd ? x.Shape[2] : x.Shape[1]);
        bool smooth = binding.Get(Role) == "k";
        int rows = binding.Get(Rows);
        var p = new Params(x.DType, b, h, n, d, layout, smooth, rows > 0 ? rows : smooth ? SageAttention.KRows : 128);
        Validate(p);
        return p;
    }

    private static OpAttr<string> Role { get; } = OpAttr.Choice("role", "q", "q: sm_scale * log2(e) folded in, 128-row scales; k: mean-smoothed (mean output), 64-row scales", "q", "k");

    private static OpAttr<int> Rows { get; } = OpAttr.IntChoice("rows", "128 for role=q, 64 for role=k", "tokens per scale (32 or 16: one per warp, Sage's q granularity)", 16, 32, 64, 128);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(AttentionGeometry.LayoutAttr, Role, Rows);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues()
        .Set(AttentionGeometry.LayoutAttr, p.Layout == HeadLayout.Nhd ? "nhd" : "hnd").Set(Role, p.Smooth ? "k" : "q")
        .Set(Rows, p.Rows == (p.Smooth ? SageAttention.KRows : 128) ? 0 : p.Rows);

    /// <summary>The oracle (see the file comment): the kernels' fp32 arithmetic and the mean's fixed summation order.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var (q, scale, mean) = Quantize(p, t.Read("x"));
        t.Write("q", q);
        t.Write("scale", scale);
        if (p.Smooth)
        {
            t.Write("mean", mean);
        }
    }

    /// <summary>The oracle's arithmetic on host values of x (in <paramref name="p"/>'s layout): codes, scales [B, H, blocks] and mean [B, H, D] (zeros for role=q).</summary>
    public static (double[] Q, double[] Scale, double[] Mean) Quantize(Params p, double[] x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var st = p.Strides;
        int d = p.HeadDim, n = p.Tokens;
        float qScale = p.QScale;
        var mean = new double[(long)p.Batch * p.Heads * d];
        var q = new double[x.Length];
        var scales = new double[(long)p.Batch * p.Heads * p.Blocks];
        int chunks = (n + MeanRows - 1) / MeanRows;
        int per = (chunks + QkNormRopeInt8.MeanSlices - 1) / QkNormRopeInt8.MeanSlices;
        var part = new double[chunks];
        for (int b = 0; b < p.Batch; b++)
        {
            for (int h = 0; h < p.Heads; h++)
            {
                long bh = ((long)b * p.Heads) + h;
                for (int c = 0; c < d && p.Smooth; c++)
                {
                    for (int k = 0; k < chunks; k++)
                    {
                        double s = 0;
                        for (int i = k * MeanRows; i < Math.Min(n, (k + 1) * MeanRows); i++)
                        {
                            s += (float)x[st.Of(b, h, i) + c];
                        }
                        part[k] = s;
                    }
                    double all = part[0];
                    if (chunks > 1)
                    {
                        // MeanKernel: each of MeanSlices warps sums a contiguous run, then the runs in order.
                        all = 0;
                        for (int w = 0; w < QkNormRopeInt8.MeanSlices; w++)
                        {
                            int k0 = Math.Min(chunks, w * per), k1 = Math.Min(chunks, k0 + per);
                            double s = 0;
                            for (int k = k0; k < k1; k++)
                            {
                                s += part[k];
                            }
                            all += s;
                        }
                    }
                    mean[(bh * d) + c] = (float)(all / n);
                }
                for (int blk = 0; blk < p.Blocks; blk++)
                {
                    int r0 = blk * p.Rows, r1 = Math.Min(n, r0 + p.Rows);
                    float amax = 0f;
                    for (int i = r0; i < r1; i++)
                    {
                        for (int c = 0; c < d; c++)
                        {
                            amax = Math.Max(amax, Math.Abs(Value(p, x, mean, st.Of(b, h, i) + c, (bh * d) + c, qScale)));
                        }
                    }
                    float scale = QuantMath.Scale(amax, QuantMath.Int8Max, QkNormRopeInt8.ScaleFloor);
                    scales[(bh * p.Blocks) + blk] = scale;
                    for (int i = r0; i < r1; i++)
                    {
                        for (int c = 0; c < d; c++)
                        {
                            long at = st.Of(b, h, i) + c;
                            q[at] = QuantMath.QuantizeInt8(Value(p, x, mean, at, (bh * d) + c, qScale), scale);
                        }
                    }
                }
            }
        }
        return (q, scales, mean);
    }

    // (x - mean) * q_scale in fp32, as the kernels compute it.
    private static float Value(Params p, double[] x, double[] mean, long at, long m, float qScale)
    {
        float v = (float)x[at];
        if (p.Smooth)
        {
            v -= (float)mean[m];
        }
        return v * qScale;
    }

    /// <summary>ILGPU: the mean's two passes (role=k), then the per-block quantization.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) =>
        Launch(backend, p, t["x"], t["q"], t["scale"], p.Smooth ? t["mean"] : null);

    /// <summary>CUDA: kernels/attention/sage_quantize.cu (the chunk sums' workspace comes from here).</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        long work = PartialFloats(p);
        using var partials = work > 0 ? backend.Workspaces.Rent(DType.F32, new Shape(work), "sage_quantize_partials") : null;
        ZtNative.SageQuantize(backend, p.DType, p.Batch, p.Heads, p.Tokens, p.HeadDim, (int)p.Layout, p.Rows, p.Smooth ? 1 : 0, p.QScale,
            p.X.ElementCount, p.ScaleShape.ElementCount, p.Smooth ? p.MeanShape.ElementCount : 0, work, Attention.Flat(t["x"]), partials,
            Attention.Flat(t["q"]), Attention.Flat(t["scale"]), p.Smooth ? Attention.Flat(t["mean"]) : null);
    }

    /// <summary>f32 floats of the mean's double chunk sums (zt_sage_quantize's work): 0 unless role=k over more than one chunk.</summary>
    public static long PartialFloats(Params p)
    {
        long chunks = (p.Tokens + MeanRows - 1L) / MeanRows;
        return p.Smooth && chunks > 1 ? 2L * p.Batch * p.Heads * chunks * p.HeadDim : 0;
    }

    /// <summary>Quantizes <paramref name="x"/> on an ILGPU backend (sage_quantize's kernels; sla precision=sage calls this with its pooled buffers).</summary>
    internal static void Launch(IlgpuBackend backend, Params p, Tensor x, Tensor q, Tensor scale, Tensor? mean) =>
        FloatTypes.Visit(p.DType, new Launcher(backend, p, x, q, scale, mean));

    /// <summary>The kernels' scalars (blittable).</summary>
    internal readonly struct QArgs
    {
        /// <summary>Extents and the block grid.</summary>
        public readonly int Heads, Tokens, HeadDim, Rows, Blocks, Chunks, Smooth;

        /// <summary>The factor folded in.</summary>
        public readonly float QScale;

        /// <summary>Strides of x and of the codes.</summary>
        public readonly long BatchStride, HeadStride, TokenStride;

        /// <summary>From parameters.</summary>
        public QArgs(Params p)
        {
            (Heads, Tokens, HeadDim, Rows, Blocks) = (p.Heads, p.Tokens, p.HeadDim, p.Rows, p.Blocks);
            (Chunks, Smooth, QScale) = ((p.Tokens + MeanRows - 1) / MeanRows, p.Smooth ? 1 : 0, p.QScale);
            var st = p.Strides;
            (BatchStride, HeadStride, TokenStride) = (st.Batch, st.Head, st.Token);
        }
    }

    /// <summary>
    /// Mean pass 1 (role=k): one thread per (b, h, chunk of <see cref="MeanRows"/> tokens, channel),
    /// channel fastest (a warp reads consecutive channels of one token): the chunk's double sum into
    /// <paramref name="part"/> [B * H, chunks, D], or the mean itself when there is one chunk.
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void PartialKernel<T, TCodec>(Index1D i, QArgs a, ArrayView<T> x, ArrayView<double> part, ArrayView<float> mean)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        int cell = i / a.HeadDim;
        int c = i - (cell * a.HeadDim);
        int bh = cell / a.Chunks;
        int n0 = (cell - (bh * a.Chunks)) * MeanRows;
        int rows = XMath.Min(a.Tokens - n0, MeanRows);
        int b = bh / a.Heads;
        long at = (b * a.BatchStride) + ((bh - (b * a.Heads)) * a.HeadStride) + (n0 * a.TokenStride) + c;
        double s = 0;
        for (int n = 0; n < rows; n++)
        {
            s += codec.Load(x[at + (n * a.TokenStride)]);
        }
        if (a.Chunks == 1)
        {
            mean[((long)bh * a.HeadDim) + c] = (float)(s / a.Tokens);
        }
        else
        {
            part[i] = s;
        }
    }

    /// <summary>
    /// The quantization: one warp per (b, h, block of <see cref="QArgs.Rows"/> tokens); element e of
    /// the block is token e / D, channel e % D, so a warp reads consecutive channels of one token in
    /// either layout. amax of (x - mean) * q_scale, the scale, then the codes.
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void QuantKernel<T, TCodec>(QArgs a, ArrayView<T> x, ArrayView<float> mean, ArrayView<sbyte> q, ArrayView<float> scales)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        long g = Grid.IdxX;
        int lane = Group.IdxX;
        long bh = g / a.Blocks;
        int n0 = (int)(g - (bh * a.Blocks)) * a.Rows;
        int count = XMath.Min(a.Rows, a.Tokens - n0) * a.HeadDim;
        long b = bh / a.Heads;
        long start = (b * a.BatchStride) + ((bh - (b * a.Heads)) * a.HeadStride) + (n0 * a.TokenStride);
        long m0 = bh * a.HeadDim;
        float amax = 0f;
        for (int e = lane; e < count; e += 32)
        {
            int n = e / a.HeadDim;
            int c = e - (n * a.HeadDim);
            float v = codec.Load(x[start + (n * a.TokenStride) + c]);
            v = (a.Smooth != 0 ? v - mean[m0 + c] : v) * a.QScale;
            amax = XMath.Max(amax, XMath.Abs(v));
        }
        float scale = QuantMath.Scale(WarpReduce.Max(amax), QuantMath.Int8Max, QkNormRopeInt8.ScaleFloor);
        if (lane == 0)
        {
            scales[g] = scale;
        }
        for (int e = lane; e < count; e += 32)
        {
            int n = e / a.HeadDim;
            int c = e - (n * a.HeadDim);
            long at = start + (n * a.TokenStride) + c;
            float v = codec.Load(x[at]);
            v = (a.Smooth != 0 ? v - mean[m0 + c] : v) * a.QScale;
            q[at] = QuantMath.QuantizeInt8(v, scale);
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, Tensor x, Tensor q, Tensor scale, Tensor? mean) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var a = new QArgs(p);
            long cells = (long)p.Batch * p.Heads * a.Chunks * p.HeadDim;
            using var partials = backend.Workspaces.Rent(DType.F32, new Shape(Math.Max(2, PartialFloats(p))), "sage_quantize_partials");
            var part = backend.View<float>(partials).Cast<double>();
            var meanView = backend.View<float>(mean ?? scale);
            if (p.Smooth)
            {
                var partial = backend.Kernel(PartialKernel<T, TCodec>, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index1D, QArgs, ArrayView<T>, ArrayView<double>, ArrayView<float>>(PartialKernel<T, TCodec>));
                partial(checked((int)cells), a, backend.View<T>(x), part, meanView);
                if (a.Chunks > 1)
                {
                    var total = backend.Kernel(QkNormRopeInt8.MeanKernel, acc => acc.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int, int, int>(QkNormRopeInt8.MeanKernel));
                    total(new KernelConfig(checked(p.Batch * p.Heads * ((p.HeadDim + 31) / 32)), 32 * QkNormRopeInt8.MeanSlices), part, meanView, p.Tokens, p.HeadDim, a.Chunks);
                }
            }
            var quant = backend.Kernel(QuantKernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<QArgs, ArrayView<T>, ArrayView<float>, ArrayView<sbyte>, ArrayView<float>>(QuantKernel<T, TCodec>));
            quant(new KernelConfig(checked((int)((long)p.Batch * p.Heads * p.Blocks)), 32), a, backend.View<T>(x), meanView, backend.View<sbyte>(q),
                backend.View<float>(scale));
            backend.Synchronize();
        }
    }
}
