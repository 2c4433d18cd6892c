// qk_norm_rope_int8: QK-norm + RoPE, then SageAttention's INT8 quantization of the result.
//
//   v   = rope(rmsnorm(x) * weight)                    per head, [B, H, N, D], fp32
//   v'  = (v - mean_n(v)) * q_scale                    mean over tokens per (b, h, d) only when
//                                                      smoothing (K); q_scale = sm_scale * log2(e) for Q
//   scale[b, h, blk] = max(amax(|v'| over blk's rows), 1e-8) / 127
//   q   = clamp(round_half_even(v' / scale), -127, 127)
//
// Granularity: blocks of BlockRows tokens per head: 128 (Sage per-block Q), 64 (K), 32 or 16
// (per-warp Q). Outputs q int8 [B, H, N, D], scales f32 [B, H, ceil(N / BlockRows)], and the
// subtracted mean f32 [B, H, D] when smoothing (attention adds q . mean back only for the LSE).
// Kernels: the fp32 qk_norm_rope into a workspace, a mean over tokens (double accumulation, in
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
    public readonly record struct Params(DType DType, QkGeometry Geometry, int BlockRows, bool Smooth, float QScale) : IOpParams
    {
        /// <summary>Scales per head.</summary>
        public int Blocks => (int)((Geometry.Tokens + BlockRows - 1) / BlockRows);

        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} {Geometry.Label} rows={BlockRows}{(Smooth ? " smooth" : string.Empty)} qscale={QScale:0.####}");

        /// <summary>Sage Q: sm_scale * log2(e) folded in, no smoothing; 128 rows per scale, 32 when <paramref name="perWarp"/>.</summary>
        public static Params Query(DType dtype, QkGeometry geometry, bool perWarp) =>
            new(dtype, geometry, perWarp ? 32 : 128, false, (float)(Math.Log2(Math.E) / Math.Sqrt(geometry.HeadDim)));

        /// <summary>Sage K: smoothed, 64 rows per scale.</summary>
        public static Params Key(DType dtype, QkGeometry geometry) => new(dtype, geometry, 64, true, 1f);
    }

    /// <summary>Runs on the backend of <paramref name="x"/>; pass a mean tensor exactly when <paramref name="p"/> smooths.</summary>
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
        if (p.BlockRows is not (16 or 32 or 64 or 128))
        {
            throw new ArgumentException($"qk_norm_rope_int8: {p.BlockRows} rows per scale; Sage uses 128, 64, 32 or 16", nameof(p));
        }
        var s = new OpSignature()
            .In("x", p.DType, g.Input)
            .In("weight", p.DType, new Shape(g.Dim), InitSpec.Gaussian(1, 0.25))
            .In("table", DType.F32, WanRopeTable.Shape(g.HeadDim, g.Positions), WanRopeTable.Init(g.Split, g.Positions))
            .Out("q", DType.I8, g.Output, tolerance: new Tolerance(1e-2, MaxAbs: 1))
            .Out("scale", DType.F32, new Shape(g.Batch, g.Heads, p.Blocks), tolerance: new Tolerance(1e-5));
        if (p.Smooth)
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
        return rows > 0 ? p with { BlockRows = rows } : p;
    }

    private static OpAttr<string> Role { get; } = OpAttr.Choice("role", "q", "q: per-block scales with 1/sqrt(d) folded in; k: smoothed (mean output), 64-row scales", "q", "k");

    private static OpAttr<int> Rows { get; } = OpAttr.IntChoice("rows", "128 for role=q (a CTA's block), 64 for role=k", "tokens per scale (32: one per warp, Sage's q granularity)", 16, 32, 64, 128);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = QkBinding.Attributes.With(Role, Rows);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        QkBinding.Describe(p.Geometry).Set(Role, p.Smooth ? "k" : "q").Set(Rows, p.BlockRows == (p.Smooth ? 64 : 128) ? 0 : p.BlockRows);

    /// <summary>The oracle: double up to v', then the fp32 scale and rounding rule.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var g = p.Geometry;
        var v = QkNormRopeReference.Compute(g, t.Read("x"), t.Read("weight"), t.Read("table"));
        long n = g.Tokens;
        int d = g.HeadDim;
        var mean = new double[(long)g.Batch * g.Heads * d];
        if (p.Smooth)
        {
            for (long bh = 0; bh < (long)g.Batch * g.Heads; bh++)
            {
                for (int c = 0; c < d; c++)
                {
                    double s = 0;
                    for (long i = 0; i < n; i++)
                    {
                        s += v[(((bh * n) + i) * d) + c];
                    }
                    mean[(bh * d) + c] = s / n;
                }
            }
            t.Write("mean", mean);
        }
        var q = new double[v.Length];
        var scales = new double[(long)g.Batch * g.Heads * p.Blocks];
        for (long bh = 0; bh < (long)g.Batch * g.Heads; bh++)
        {
            for (int blk = 0; blk < p.Blocks; blk++)
            {
                long n0 = (long)blk * p.BlockRows;
                long rows = Math.Min(p.BlockRows, n - n0);
                double amax = 0;
                for (long e = 0; e < rows * d; e++)
                {
                    amax = Math.Max(amax, Math.Abs(Smoothed(v, mean, p, bh, n0, e)));
                }
                float scale = QuantMath.Scale((float)amax, QuantMath.Int8Max, ScaleFloor);
                scales[(bh * p.Blocks) + blk] = scale;
                for (long e = 0; e < rows * d; e++)
                {
                    double x = Smoothed(v, mean, p, bh, n0, e) / scale;
                    q[(((bh * n) + n0) * d) + e] = Math.Clamp(Math.Round(x, MidpointRounding.ToEven), -127, 127);
                }
            }
        }
        t.Write("q", q);
        t.Write("scale", scales);
    }

    private static double Smoothed(double[] v, double[] mean, Params p, long bh, long n0, long e)
    {
        int d = p.Geometry.HeadDim;
        double x = v[(((bh * p.Geometry.Tokens) + n0) * d) + e];
        return (p.Smooth ? x - mean[(bh * d) + (e % d)] : x) * p.QScale;
    }

    /// <summary>ILGPU: norm + rope into an f32 workspace, the mean, the per-block quantization.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    public static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/rope/qk_norm_rope_int8.cu (the workspace comes from here: no allocation inside a launch).</summary>
    [RunsOn(BackendKind.Cuda)]
    public static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        using var workspace = backend.Workspaces.Rent(DType.F32, new Shape(WorkspaceFloats(p)), "workspace");
        ZtNative.QkNormRopeInt8(backend, p.DType, g.Batch, checked((int)g.Tokens), g.Heads, g.HeadDim, g.Dim, g.Grid.Frames, g.Grid.Height, g.Grid.Width,
            g.Grid.FrameOffset, g.Split.TimeDims, g.Split.HeightDims, g.Positions, g.HeadDim / 2, g.Eps, p.BlockRows, p.Blocks, p.Smooth ? 1 : 0, p.QScale,
            workspace.ElementCount, t["x"], t["weight"], t["table"], workspace, t["q"], t["scale"], p.Smooth ? t["mean"] : null);
    }

    /// <summary>
    /// The f32 workspace of both paths: the normed, rotated rows [B, H, N, D], then (smoothing over
    /// two or more chunks of <see cref="MeanRows"/> tokens) the chunk sums as doubles from the next
    /// even float, so they are 8-byte aligned on a pooled (256-byte aligned) buffer.
    /// </summary>
    internal static long WorkspaceFloats(Params p)
    {
        var g = p.Geometry;
        long rows = g.Output.ElementCount;
        long chunks = (g.Tokens + MeanRows - 1) / MeanRows;
        return rows + (p.Smooth && chunks > 1 ? (rows & 1) + (2L * g.Batch * g.Heads * chunks * g.HeadDim) : 0);
    }

    /// <summary>Step 1: norm + rope into the f32 workspace (group = one warp = one token).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    public static void NormKernel<T, TCodec>(ArrayView<T> x, ArrayView<T> weight, ArrayView<float> workspace, RopeDevice rope, int heads, int tokens, int headDim, float eps)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        QkNormRopeDevice.Run<T, TCodec, float, F32Codec>(x, weight, workspace, rope, heads, tokens, headDim, eps);

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
    public static void PartialKernel(Index1D i, ArrayView<float> workspace, ArrayView<double> part, ArrayView<float> mean, int tokens, int headDim, int chunks, int single)
    {
        int cell = i / headDim;
        int c = i - (cell * headDim);
        int bh = cell / chunks;
        int n0 = (cell - (bh * chunks)) * MeanRows;
        int rows = XMath.Min(tokens - n0, MeanRows);
        long at = ((((long)bh * tokens) + n0) * headDim) + c;
        double s = 0;
        for (int n = 0; n < rows; n++)
        {
            s += workspace[at + ((long)n * headDim)];
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
    public static void MeanKernel(ArrayView<double> part, ArrayView<float> mean, int tokens, int headDim, int chunks)
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

    /// <summary>Step 3: one warp per (b, h, block): amax, scale, quantize.</summary>
    [IlgpuKernel]
    public static void QuantKernel(ArrayView<float> workspace, ArrayView<float> mean, ArrayView<sbyte> q, ArrayView<float> scales, int tokens, int headDim, int blockRows, int blocks, int smooth, float qScale)
    {
        long g = Grid.IdxX;
        int lane = Group.IdxX;
        long bh = g / blocks;
        long n0 = (g - (bh * blocks)) * blockRows;
        long rows = XMath.Min(blockRows, tokens - n0);
        long count = rows * headDim;
        long start = ((bh * tokens) + n0) * headDim;
        float amax = 0f;
        for (long e = lane; e < count; e += 32)
        {
            float v = Smoothed(workspace, mean, start, e, bh, headDim, smooth, qScale);
            amax = XMath.Max(amax, XMath.Abs(v));
        }
        float scale = QuantMath.Scale(WarpReduce.Max(amax), QuantMath.Int8Max, ScaleFloor);
        if (lane == 0)
        {
            scales[g] = scale;
        }
        for (long e = lane; e < count; e += 32)
        {
            q[start + e] = QuantMath.QuantizeInt8(Smoothed(workspace, mean, start, e, bh, headDim, smooth, qScale), scale);
        }
    }

    private static float Smoothed(ArrayView<float> workspace, ArrayView<float> mean, long start, long e, long bh, int headDim, int smooth, float qScale)
    {
        float v = workspace[start + e];
        if (smooth != 0)
        {
            v -= mean[(bh * headDim) + (e % headDim)];
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
                acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<float>, RopeDevice, int, int, int, float>(NormKernel<T, TCodec>));
            int tokens = checked((int)g.Tokens);
            norm(NormShapes.RowGrid(g.Batch * g.Tokens), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), ws,
                RopeDevice.Of(backend.View<float>(t["table"]), g.Grid, g.Split), g.Heads, tokens, g.HeadDim, g.Eps);
            var mean = p.Smooth ? backend.View<float>(t["mean"]) : ws;
            if (p.Smooth)
            {
                // The chunk sums follow the rows in the workspace (WorkspaceFloats).
                int chunks = (tokens + MeanRows - 1) / MeanRows;
                long cells = (long)g.Batch * g.Heads * chunks * g.HeadDim;
                var part = chunks > 1
                    ? backend.View<float>(workspace).SubView(rows + (rows & 1), 2 * cells).Cast<double>()
                    : ws.Cast<double>();
                var partial = backend.Kernel(PartialKernel, acc =>
                    acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<double>, ArrayView<float>, int, int, int, int>(PartialKernel));
                partial(checked((int)cells), ws, part, mean, tokens, g.HeadDim, chunks, chunks > 1 ? 0 : 1);
                if (chunks > 1)
                {
                    var meanKernel = backend.Kernel(MeanKernel, acc => acc.LoadStreamKernel<ArrayView<double>, ArrayView<float>, int, int, int>(MeanKernel));
                    meanKernel(new KernelConfig(checked(g.Batch * g.Heads * ((g.HeadDim + 31) / 32)), 32 * MeanSlices), part, mean, tokens, g.HeadDim, chunks);
                }
            }
            var quant = backend.Kernel(QuantKernel, acc =>
                acc.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<sbyte>, ArrayView<float>, int, int, int, int, int, float>(QuantKernel));
            quant(NormShapes.RowGrid((long)g.Batch * g.Heads * p.Blocks), ws, mean, backend.View<sbyte>(t["q"]), backend.View<float>(t["scale"]),
                tokens, g.HeadDim, p.BlockRows, p.Blocks, p.Smooth ? 1 : 0, p.QScale);
            backend.Synchronize();
        }
    }
}
