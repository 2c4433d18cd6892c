// qk_norm_rope_int8: QK-norm + RoPE, then SageAttention's INT8 quantization of the result.
//
//   v   = rope(rmsnorm(x) * weight)                    per head, [B, H, N, D], fp32
//   v'  = (v - mean) * q_scale                         mean only when smoothing (K): over tokens per
//                                                      (b, h, d) (mean=compute, an output), or given
//                                                      (mean=given, an input); q_scale = sm_scale *
//                                                      log2(e) for Q
//   scale[b, h, blk] = max(amax(|v'| over blk's rows), 1e-8) / 127
//   q   = clamp(round_half_even(v' / scale), -127, 127)
//
// Granularity: blocks of BlockRows tokens per head: 128 (Sage per-block Q), 64 (K), 32 or 16
// (per-warp Q), 1 (per token and head: the streaming engine's K, quantized once per frame).
// Outputs q int8 [B, H, N, D] (layout=hnd) or [B, N, H, D] (layout=nhd: x's order, a KV-cache
// pool's token rows), scales f32 [B, H, ceil(N / BlockRows)], for BlockRows 1 in q's order without
// D ([B, H, N] or [B, N, H]: a frame's scales contiguous in an nhd cache), and the subtracted mean
// f32 [B, H, D] when computing it (attention adds q . mean back only for the LSE). A given mean
// works because subtracting any one vector from every key adds a constant per query row, which
// softmax ignores: the engine fixes it once per layer and head and reuses it for later frames.
// Kernels: the fp32 qk_norm_rope into a workspace (in q's layout), a mean over tokens (double accumulation, in
// two passes: chunk sums of 64 tokens, then the chunks in a fixed order, so no thread reads more
// than one chunk; the chunk sums follow the rows in the workspace), a per-block amax + quantize. The int8 values equal the reference's up to one step where the
// backends' last-ulp differences in the fp32 norm and rotation cross a rounding boundary;
// quant_* ops, with their inputs given, are bit-exact.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Attention.Norm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>Fused QK-norm + RoPE + SageAttention INT8 quantization (per-block or per-warp scales, optional K-smoothing).</summary>
[Op("qk_norm_rope_int8", Cases = typeof(QkNormRopeInt8Cases), Summary = "qk_norm_rope then Sage INT8: per-block/per-warp scales, sm_scale folded into Q, K-smoothing")]
public sealed partial class QkNormRopeInt8 : IOp<QkNormRopeInt8.Params>
{
    /// <summary>The floor of a block's scale (an all-zero block quantizes to zeros, not NaN).</summary>
    public const float ScaleFloor = 1e-8f;

    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x and weight.</param>
    /// <param name="Geometry">Shapes, grid, split, eps.</param>
    /// <param name="BlockRows">Tokens per scale: 128, 64, 32 or 16.</param>
    /// <param name="Smooth">Subtract the per-channel mean over tokens (K).</param>
    /// <param name="QScale">Multiplier folded in before quantizing (sm_scale * log2(e) for Q, 1 for K).</param>
    /// <param name="MeanGiven">Smoothing subtracts the input 'mean' rather than computing (and writing) the mean over tokens.</param>
    public readonly record struct Params(DType DType, QkGeometry Geometry, int BlockRows, bool Smooth, float QScale, bool MeanGiven = false) : IOpParams
    {
        /// <summary>Scales per head.</summary>
        public int Blocks => (int)((Geometry.Tokens + BlockRows - 1) / BlockRows);

        /// <summary>The scales: [B, H, N] or [B, N, H] (q's order without D) for one row per scale, else [B, H, blocks].</summary>
        public Shape ScaleShape => BlockRows == 1 ? Geometry.PerTokenHead : new Shape(Geometry.Batch, Geometry.Heads, Blocks);

        /// <summary>Smoothing with the mean over tokens computed here (an output).</summary>
        public bool ComputesMean => Smooth && !MeanGiven;

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} {Geometry.Label} rows={BlockRows}{(Smooth ? " smooth" : string.Empty)}{(MeanGiven ? " mean=given" : string.Empty)} qscale={QScale:0.####}");

        /// <summary>Sage Q: sm_scale * log2(e) folded in, no smoothing; 128 rows per scale, 32 when <paramref name="perWarp"/>.</summary>
        public static Params Query(DType dtype, QkGeometry geometry, bool perWarp) =>
            new(dtype, geometry, perWarp ? 32 : 128, false, (float)(Math.Log2(Math.E) / Math.Sqrt(geometry.HeadDim)));

        /// <summary>Sage K: smoothed, 64 rows per scale.</summary>
        public static Params Key(DType dtype, QkGeometry geometry) => new(dtype, geometry, 64, true, 1f);

        /// <summary>
        /// Sage K per token and head (one scale per row of D: the streaming engine's cache, quantized
        /// a frame at a time), smoothed; the mean is an input when <paramref name="meanGiven"/> (the
        /// layer's fixed vector), else computed over these tokens and written.
        /// </summary>
        public static Params KeyPerToken(DType dtype, QkGeometry geometry, bool meanGiven) => new(dtype, geometry, 1, true, 1f, meanGiven);
    }

    /// <summary>
    /// Runs on the backend of <paramref name="x"/>; pass a mean tensor exactly when <paramref name="p"/> smooths: the
    /// [B, H, D] f32 vector to subtract when <see cref="Params.MeanGiven"/>, else where the computed mean goes.
    /// </summary>
    public static void Run(Params p, Tensor x, Tensor weight, Tensor table, Tensor q, Tensor scale, Tensor? mean)
    {
        ArgumentNullException.ThrowIfNull(x);
        var tensors = new OpTensors { { "x", x }, { "weight", weight }, { "table", table }, { "q", q }, { "scale", scale } };
        if (mean is not null)
        {
            tensors.Add("mean", mean);
        }
        Info.Run(x.Backend, p, tensors);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        g.Validate();
        if (p.BlockRows is not (1 or 16 or 32 or 64 or 128))
        {
            throw new ArgumentException($"qk_norm_rope_int8: {p.BlockRows} rows per scale; Sage uses 128, 64, 32, 16 or 1", nameof(p));
        }
        if (p.MeanGiven && !p.Smooth)
        {
            throw new ArgumentException("qk_norm_rope_int8: mean=given without smoothing (role=q); a given mean is K's smoothing vector", nameof(p));
        }
        var s = new OpSignature()
            .In("x", p.DType, g.Input)
            .In("weight", p.DType, new Shape(g.Dim), InitSpec.Gaussian(1, 0.25))
            .In("table", DType.F32, WanRopeTable.Shape(g.HeadDim, g.Positions), WanRopeTable.Init(g.Split, g.Positions));
        if (p.MeanGiven)
        {
            s.In("mean", DType.F32, new Shape(g.Batch, g.Heads, g.HeadDim), InitSpec.Gaussian(0, 0.5));
        }
        s.Out("q", DType.I8, g.Output, tolerance: new Tolerance(1e-2, MaxAbs: 1))
            .Out("scale", DType.F32, p.ScaleShape, tolerance: new Tolerance(1e-5));
        if (p.ComputesMean)
        {
            s.Out("mean", DType.F32, new Shape(g.Batch, g.Heads, g.HeadDim), tolerance: new Tolerance(1e-5));
        }
        return s;
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Geometry.Batch * p.Geometry.Tokens * p.Geometry.Dim;
        return new(14 * n, n * (p.DType.Size() + 1 + 12));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var g = QkBinding.Geometry(binding);
        var dtype = binding.Input("x").DType;
        var p = binding.Get(Role) == "k" ? Params.Key(dtype, g) : Params.Query(dtype, g, perWarp: false);
        int rows = binding.Get(Rows);
        return (rows > 0 ? p with { BlockRows = rows } : p) with { MeanGiven = binding.Get(Mean) == "given" };
    }

    private static OpAttr<string> Role { get; } = OpAttr.Choice("role", "q", "q: per-block scales with 1/sqrt(d) folded in; k: smoothed, 64-row scales", "q", "k");

    private static OpAttr<int> Rows { get; } = OpAttr.IntChoice("rows", "128 for role=q (a CTA's block), 64 for role=k",
        "tokens per scale (32: one per warp, Sage's q granularity; 1: one per token and head, scales in q's order)", 1, 16, 32, 64, 128);

    private static OpAttr<string> Mean { get; } = OpAttr.Choice("mean", "compute",
        "role=k's smoothing vector: compute (over these tokens, an output) or given (an input [B, H, D], no mean kernels)", "compute", "given");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = QkBinding.Attributes.With(Role, Rows, Mean);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        QkBinding.Describe(p.Geometry).Set(Role, p.Smooth ? "k" : "q").Set(Rows, p.BlockRows == (p.Smooth ? 64 : 128) ? 0 : p.BlockRows)
            .Set(Mean, p.MeanGiven ? "given" : "compute");

    /// <summary>The oracle: double up to v', then the fp32 scale and rounding rule.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        var v = QkNormRopeReference.Compute(g, t.Read("x"), t.Read("weight"), t.Read("table"));
        long n = g.Tokens;
        int d = g.HeadDim;
        var mean = p.MeanGiven ? t.Read("mean") : new double[(long)g.Batch * g.Heads * d];
        if (p.ComputesMean)
        {
            for (long b = 0; b < g.Batch; b++)
            {
                for (long h = 0; h < g.Heads; h++)
                {
                    for (int c = 0; c < d; c++)
                    {
                        double s = 0;
                        for (long i = 0; i < n; i++)
                        {
                            s += v[g.Index(b, h, i, c)];
                        }
                        mean[(((b * g.Heads) + h) * d) + c] = s / n;
                    }
                }
            }
            t.Write("mean", mean);
        }
        var q = new double[v.Length];
        var scales = new double[p.ScaleShape.ElementCount];
        for (long b = 0; b < g.Batch; b++)
        {
            for (long h = 0; h < g.Heads; h++)
            {
                for (int blk = 0; blk < p.Blocks; blk++)
                {
                    long n0 = (long)blk * p.BlockRows;
                    long rows = Math.Min(p.BlockRows, n - n0);
                    double amax = 0;
                    for (long i = n0; i < n0 + rows; i++)
                    {
                        for (int c = 0; c < d; c++)
                        {
                            amax = Math.Max(amax, Math.Abs(Smoothed(v, mean, p, b, h, i, c)));
                        }
                    }
                    float scale = QuantMath.Scale((float)amax, QuantMath.Int8Max, ScaleFloor);
                    // One row per scale: in q's order without D; else [B, H, blocks].
                    long si = p.BlockRows == 1 ? g.Index(b, h, blk, 0) / d : (((b * g.Heads) + h) * p.Blocks) + blk;
                    scales[si] = scale;
                    for (long i = n0; i < n0 + rows; i++)
                    {
                        for (int c = 0; c < d; c++)
                        {
                            double x = Smoothed(v, mean, p, b, h, i, c) / scale;
                            q[g.Index(b, h, i, c)] = Math.Clamp(Math.Round(x, MidpointRounding.ToEven), -127, 127);
                        }
                    }
                }
            }
        }
        t.Write("q", q);
        t.Write("scale", scales);
    }

    private static double Smoothed(double[] v, double[] mean, Params p, long b, long h, long i, int c)
    {
        var g = p.Geometry;
        double x = v[g.Index(b, h, i, c)];
        return (p.Smooth ? x - mean[(((b * g.Heads) + h) * g.HeadDim) + c] : x) * p.QScale;
    }

    /// <summary>ILGPU: norm + rope into an f32 workspace, the mean, the per-block quantization.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/rope/qk_norm_rope_int8.cu (the workspace comes from here: no allocation inside a launch).</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        long rows = (long)g.Batch * g.Heads * g.Tokens;
        using var workspace = backend.Workspaces.Rent(DType.F32, new Shape(WorkspaceFloats(p)), "workspace");
        ZtNative.QkNormRopeInt8(backend, p.DType, (int)g.Layout, g.Batch, checked((int)g.Tokens), g.Heads, g.HeadDim, g.Dim, g.Grid.Frames, g.Grid.Height, g.Grid.Width,
            g.Grid.FrameOffset, g.Split.TimeDims, g.Split.HeightDims, g.Positions, g.HeadDim / 2, g.Eps, p.BlockRows, p.Blocks, p.Smooth ? (p.MeanGiven ? 2 : 1) : 0, p.QScale,
            workspace.ElementCount, rows, t["x"], t["weight"], t["table"], workspace, t["q"].Reshape(new Shape(rows, g.HeadDim)),
            t["scale"].Reshape(new Shape(g.Batch, g.Heads, p.Blocks)), p.Smooth ? t["mean"] : null);
    }

    /// <summary>
    /// The f32 workspace of both paths: the normed, rotated rows in q's layout, then (computing the
    /// mean over two or more chunks of <see cref="MeanRows"/> tokens) the chunk sums as doubles from the next
    /// even float, so they are 8-byte aligned on a pooled (256-byte aligned) buffer.
    /// </summary>
    internal static long WorkspaceFloats(Params p)
    {
        var g = p.Geometry;
        long rows = g.Output.ElementCount;
        long chunks = (g.Tokens + MeanRows - 1) / MeanRows;
        return rows + (p.ComputesMean && chunks > 1 ? (rows & 1) + (2L * g.Batch * g.Heads * chunks * g.HeadDim) : 0);
    }

    /// <summary>Step 1: norm + rope into the f32 workspace (group = one warp = one token).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void NormKernel<T, TCodec>(ArrayView<T> x, ArrayView<T> weight, ArrayView<float> workspace, RopeDevice rope, int heads, int tokens, int headDim, float eps, int nhd)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        QkNormRopeDevice.Run<T, TCodec, float, F32Codec>(x, weight, workspace, rope, heads, tokens, headDim, eps, nhd);

    /// <summary>Tokens per partial sum of the mean (step 2).</summary>
    public const int MeanRows = 64;

    /// <summary>Warps per <see cref="MeanKernel"/> group.</summary>
    public const int MeanSlices = 8;

    /// <summary>
    /// Step 2a (smoothing): one thread per (b, h, chunk of <see cref="MeanRows"/> tokens, channel),
    /// channel fastest: the chunk's double sum into <paramref name="part"/>, or the mean itself
    /// into <paramref name="mean"/> when there is one chunk (<paramref name="single"/> = 1).
    /// </summary>
    [IlgpuKernel]
    internal static void PartialKernel(Index1D i, ArrayView<float> workspace, ArrayView<double> part, ArrayView<float> mean, int tokens, int heads, int headDim, int chunks, int single, int nhd)
    {
        int cell = i / headDim;
        int c = i - (cell * headDim);
        int bh = cell / chunks;
        int n0 = (cell - (bh * chunks)) * MeanRows;
        int rows = XMath.Min(tokens - n0, MeanRows);
        long stride = TokenStride(heads, headDim, nhd);
        long at = HeadBase(bh, tokens, heads, headDim, nhd) + (n0 * stride) + c;
        double s = 0;
        for (int n = 0; n < rows; n++)
        {
            s += workspace[at + (n * stride)];
        }
        if (single != 0)
        {
            mean[((long)bh * headDim) + c] = (float)(s / tokens);
        }
        else
        {
            part[i] = s;
        }
    }

    /// <summary>
    /// Step 2b: one group of 32 x <see cref="MeanSlices"/> per (b, h, 32 channels); each warp adds
    /// a contiguous run of chunk sums, the warps' totals are added in warp order (fixed: the same
    /// bits every run), the mean is their sum over the token count.
    /// </summary>
    [IlgpuKernel]
    internal static void MeanKernel(ArrayView<double> part, ArrayView<float> mean, int tokens, int headDim, int chunks)
    {
        var acc = SharedMemory.Allocate<double>(32 * MeanSlices);
        int lane = Group.IdxX & 31, slice = Group.IdxX >> 5;
        int tiles = (headDim + 31) / 32;
        long bh = Grid.IdxX / tiles;
        int c = ((Grid.IdxX - ((int)bh * tiles)) * 32) + lane;
        long at = (bh * chunks * headDim) + c;
        int per = (chunks + MeanSlices - 1) / MeanSlices;
        int k0 = XMath.Min(chunks, slice * per), k1 = XMath.Min(chunks, k0 + per);
        double s = 0;
        for (int k = k0; k < k1 && c < headDim; k++)
        {
            s += part[at + ((long)k * headDim)];
        }
        acc[Group.IdxX] = s;
        Group.Barrier();
        if (slice == 0 && c < headDim)
        {
            double all = 0;
            for (int w = 0; w < MeanSlices; w++)
            {
                all += acc[(w * 32) + lane];
            }
            mean[(bh * headDim) + c] = (float)(all / tokens);
        }
    }

    /// <summary>Where token 0 of head bh = b * heads + h is in a [B, H, N, D] (nhd = 0) or [B, N, H, D] tensor.</summary>
    private static long HeadBase(long bh, int tokens, int heads, int headDim, int nhd) =>
        nhd != 0 ? (((bh / heads) * tokens * heads) + (bh % heads)) * headDim : bh * tokens * headDim;

    /// <summary>The distance between a head's consecutive tokens.</summary>
    private static long TokenStride(int heads, int headDim, int nhd) => nhd != 0 ? (long)heads * headDim : headDim;

    /// <summary>
    /// Step 3: one warp per (b, h, block): amax, scale, quantize; with one row per block, one warp
    /// per row g of q in memory order (its scale is scales[g]: q's order without D).
    /// </summary>
    [IlgpuKernel]
    internal static void QuantKernel(ArrayView<float> workspace, ArrayView<float> mean, ArrayView<sbyte> q, ArrayView<float> scales, int tokens, int heads, int headDim,
        int blockRows, int blocks, int smooth, float qScale, int nhd)
    {
        long g = Grid.IdxX;
        int lane = Group.IdxX;
        long bh, start, stride, rows;
        if (blockRows == 1)
        {
            bh = nhd != 0 ? ((g / ((long)tokens * heads)) * heads) + (g % heads) : g / tokens;
            start = g * headDim;
            stride = headDim;
            rows = 1;
        }
        else
        {
            bh = g / blocks;
            long n0 = (g - (bh * blocks)) * blockRows;
            stride = TokenStride(heads, headDim, nhd);
            start = HeadBase(bh, tokens, heads, headDim, nhd) + (n0 * stride);
            rows = XMath.Min(blockRows, tokens - n0);
        }
        long count = rows * headDim;
        float amax = 0f;
        for (long e = lane; e < count; e += 32)
        {
            float v = Smoothed(workspace, mean, start, stride, e, bh, headDim, smooth, qScale);
            amax = XMath.Max(amax, XMath.Abs(v));
        }
        float scale = QuantMath.Scale(WarpReduce.Max(amax), QuantMath.Int8Max, ScaleFloor);
        if (lane == 0)
        {
            scales[g] = scale;
        }
        for (long e = lane; e < count; e += 32)
        {
            long r = e / headDim;
            q[start + (r * stride) + (e - (r * headDim))] = QuantMath.QuantizeInt8(Smoothed(workspace, mean, start, stride, e, bh, headDim, smooth, qScale), scale);
        }
    }

    private static float Smoothed(ArrayView<float> workspace, ArrayView<float> mean, long start, long stride, long e, long bh, int headDim, int smooth, float qScale)
    {
        long r = e / headDim;
        long c = e - (r * headDim);
        float v = workspace[start + (r * stride) + c];
        if (smooth != 0)
        {
            v -= mean[(bh * headDim) + c];
        }
        return v * qScale;
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            using var workspace = backend.Workspaces.Rent(DType.F32, new Shape(WorkspaceFloats(p)), "workspace");
            long rows = g.Output.ElementCount;
            var ws = backend.View<float>(workspace).SubView(0, Math.Max(1, rows));
            var norm = backend.Kernel(NormKernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<float>, RopeDevice, int, int, int, float, int>(NormKernel<T, TCodec>));
            int tokens = checked((int)g.Tokens);
            int nhd = g.Layout == HeadLayout.Nhd ? 1 : 0;
            norm(NormShapes.RowGrid(g.Batch * g.Tokens), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), ws,
                RopeDevice.Of(backend.View<float>(t["table"]), g.Grid, g.Split), g.Heads, tokens, g.HeadDim, g.Eps, nhd);
            // The mean: the caller's (given: read only) or computed into the output; unused without smoothing.
            var mean = p.Smooth ? backend.View<float>(t["mean"]) : ws;
            if (p.ComputesMean)
            {
                // The chunk sums follow the rows in the workspace (WorkspaceFloats).
                int chunks = (tokens + MeanRows - 1) / MeanRows;
                long cells = (long)g.Batch * g.Heads * chunks * g.HeadDim;
                var part = chunks > 1
                    ? backend.View<float>(workspace).SubView(rows + (rows & 1), 2 * cells).Cast<double>()
                    : ws.Cast<double>();
                var partial = backend.Kernel(PartialKernel, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<double>, ArrayView<float>, int, int, int, int, int, int>(PartialKernel));
                partial(checked((int)cells), ws, part, mean, tokens, g.Heads, g.HeadDim, chunks, chunks > 1 ? 0 : 1, nhd);
                if (chunks > 1)
                {
                    var meanKernel = backend.Kernel(MeanKernel, acc => acc.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int, int, int>(MeanKernel));
                    meanKernel(new KernelConfig(checked(g.Batch * g.Heads * ((g.HeadDim + 31) / 32)), 32 * MeanSlices), part, mean, tokens, g.HeadDim, chunks);
                }
            }
            var quant = backend.Kernel(QuantKernel, acc =>
                acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<sbyte>, ArrayView<float>, int, int, int, int, int, int, float, int>(QuantKernel));
            quant(NormShapes.RowGrid((long)g.Batch * g.Heads * p.Blocks), ws, mean, backend.View<sbyte>(t["q"]), backend.View<float>(t["scale"]),
                tokens, g.Heads, g.HeadDim, p.BlockRows, p.Blocks, p.Smooth ? 1 : 0, p.QScale, nhd);
            backend.Synchronize();
        }
    }
}
