// linear_int8: y = (x_q W_q^T) scaled, + bias, GELU-tanh: the W8A8 GEMM with its dequantizing
// epilogue fused.
//
// Operands: x_q int8 [M, K], W_q int8 [N, K] (quantize's outputs), f32 scales either per token
// [M] x per output channel [N] (acc * sx[m] * sw[n] once), or per 128x128 tile
// ([ceil(M/128), ceil(K/128)] and [ceil(N/128), ceil(K/128)]: the int32 sum of each 128-wide K
// tile folded into fp32 with the product of its two tiles' scales, TurboDiffusion's scheme).
// int32 accumulation is exact. Output f32/f16/bf16, bias f32 [N].
// ILGPU: a warp per 16x16 output tile, two m16n8k32 MMAs per 32-wide K step (Int8Mma: inline
// PTX on GPUs, the same fragments emulated elsewhere). CUDA: kernels/gemm/linear_int8.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>W8A8 INT8 linear with a fused dequant + bias + GELU epilogue.</summary>
[Op("linear_int8", Cases = typeof(LinearInt8Cases), Summary = "INT8 x INT8 -> int32 GEMM, fused per-token/per-channel or 128x128-tile dequant, bias, GELU")]
public sealed partial class LinearInt8 : IOp<LinearInt8.Params>
{
    /// <summary>Tile of the block scheme.</summary>
    public const int BlockTile = 128;

    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of y.</param>
    /// <param name="M">Tokens.</param>
    /// <param name="N">Output features.</param>
    /// <param name="K">Input features.</param>
    /// <param name="Scheme">Scaling scheme.</param>
    /// <param name="HasBias">Whether a bias is added.</param>
    /// <param name="Gelu">Whether GELU-tanh follows.</param>
    public readonly record struct Params(DType DType, long M, long N, long K, W8A8Scheme Scheme, bool HasBias, bool Gelu) : IOpParams
    {
        /// <summary>128-wide K tiles.</summary>
        public long KTiles => (K + BlockTile - 1) / BlockTile;

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} M={M} N={N} K={K} {(Scheme == W8A8Scheme.Block128 ? "block128" : "token x channel")}{(HasBias ? " bias" : string.Empty)}{(Gelu ? " gelu" : string.Empty)}");

        /// <summary>Shape of x's scales.</summary>
        public Shape XScaleShape => Scheme == W8A8Scheme.Block128 ? new((M + BlockTile - 1) / BlockTile, KTiles) : new(M);

        /// <summary>Shape of W's scales.</summary>
        public Shape WScaleShape => Scheme == W8A8Scheme.Block128 ? new((N + BlockTile - 1) / BlockTile, KTiles) : new(N);
    }

    /// <summary>Runs on the backend of <paramref name="xq"/>.</summary>
    public static void Run(W8A8Scheme scheme, Tensor xq, Tensor xScale, Tensor wq, Tensor wScale, Tensor? bias, Tensor y, bool gelu = false)
    {
        var (m, k, n) = LinearShapes.Of(xq, wq);
        var t = new OpTensors { { "x", xq }, { "x_scale", xScale }, { "weight", wq }, { "w_scale", wScale }, { "y", y } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(xq.Backend, new Params(y.DType, m, n, k, scheme, bias is not null, gelu), t);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature()
            .In("x", DType.I8, new Shape(p.M, p.K), InitSpec.Integers(-127, 127))
            .In("x_scale", DType.F32, p.XScaleShape, InitSpec.Uniform(1e-3, 2e-2))
            .In("weight", DType.I8, new Shape(p.N, p.K), InitSpec.Integers(-127, 127))
            .In("w_scale", DType.F32, p.WScaleShape, InitSpec.Uniform(1e-3, 2e-2));
        if (p.HasBias)
        {
            s.In("bias", DType.F32, new Shape(p.N), InitSpec.Gaussian(0, 0.5));
        }
        return s.Out("y", p.DType, new Shape(p.M, p.N));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(2.0 * p.M * p.N * p.K, (p.M * p.K) + (p.N * p.K) + (p.M * p.N * (double)p.DType.Size()));

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var (m, k, n) = LinearShapes.Of(binding.Input("x"), binding.Input("weight"));
        var scheme = binding.Get(SchemeAttr) == "block128" ? W8A8Scheme.Block128 : W8A8Scheme.PerTokenPerChannel;
        return new Params(binding.Get(LinearShapes.OutDTypeAttr), m, n, k, scheme, binding.Has("bias"), binding.Get(LinearShapes.GeluAttr));
    }

    private static OpAttr<string> SchemeAttr { get; } = OpAttr.Choice("scheme", "token", "token: x_scale per token [M], w_scale per output channel [N]; block128: 128x128 tiles for both", "token", "block128");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(SchemeAttr, LinearShapes.OutDTypeAttr, LinearShapes.GeluAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues()
        .Set(SchemeAttr, p.Scheme == W8A8Scheme.Block128 ? "block128" : "token").Set(LinearShapes.OutDTypeAttr, p.DType).Set(LinearShapes.GeluAttr, p.Gelu);

    /// <summary>The oracle: exact integer sums per K tile, scales and epilogue in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var xs = t.Read("x_scale");
        var ws = t.Read("w_scale");
        var bias = p.HasBias ? t.Read("bias") : null;
        Func<long, long, long, double> scale = p.Scheme == W8A8Scheme.Block128
            ? (m, n, kt) => xs[(m / BlockTile * p.KTiles) + kt] * ws[(n / BlockTile * p.KTiles) + kt]
            : (m, n, _) => xs[m] * ws[n];
        long tile = p.Scheme == W8A8Scheme.Block128 ? BlockTile : p.K;
        t.Write("y", LinearShapes.ReferenceGemm(t.Read("x"), t.Read("weight"), p.M, p.N, p.K, tile, scale, bias, p.Gelu));
    }

    /// <summary>ILGPU: tensor-core MMA (emulated off-GPU).</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    public static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: CUTLASS with an EVT epilogue where built and applicable (per-token scheme), else kernels/gemm/linear_int8.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    public static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        bool fits = p.Scheme == W8A8Scheme.PerTokenPerChannel && p.DType != DType.F32 && p.K % 16 == 0 && p.N % 8 == 0;
        if (NativeGemmVariants.UseCutlass(backend, "linear_int8", "zt_linear_int8_cutlass", p.M, p.N, p.K, fits, t["x"], t["weight"], t["y"]))
        {
            ZtNative.LinearInt8Cutlass(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, t["x"], t["weight"], t["x_scale"], t["w_scale"],
                p.HasBias ? t["bias"] : null, t["y"]);
            return;
        }
        ZtNative.LinearInt8(backend, p.DType, p.M, p.N, p.K, (int)p.Scheme, p.Gelu ? 1 : 0, p.XScaleShape.ElementCount, p.WScaleShape.ElementCount,
            t["x"], t["weight"], t["x_scale"].Reshape(new Shape(p.XScaleShape.ElementCount)), t["w_scale"].Reshape(new Shape(p.WScaleShape.ElementCount)),
            p.HasBias ? t["bias"] : null, t["y"]);
    }

    /// <summary>The kernel: one warp per 16x16 tile of y.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    public static void Kernel<T, TCodec>(ArrayView<sbyte> x, ArrayView<sbyte> w, ArrayView<float> xs, ArrayView<float> ws, ArrayView<T> y,
        long m, long n, long k, int blockScaled, LinearEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        int lane = Warp.LaneIdx;
        int group = lane >> 2;
        int t4 = lane & 3;
        long m0 = (long)Grid.IdxY * 16;
        long n0 = (long)Grid.IdxX * 16;
        long kTiles = (k + BlockTile - 1) / BlockTile;
        long tileK = blockScaled != 0 ? BlockTile : k;
        var c0 = default(Int4Fragment);
        var c1 = default(Int4Fragment);
        float f00 = 0f, f01 = 0f, f02 = 0f, f03 = 0f, f10 = 0f, f11 = 0f, f12 = 0f, f13 = 0f;
        long kt = 0;
        for (long kStart = 0; kStart < k; kStart += tileK, kt++)
        {
            long kEnd = XMathMin(k, kStart + tileK);
            for (long k0 = kStart; k0 < kEnd; k0 += 32)
            {
                long lo = k0 + (4 * t4);
                long hi = k0 + 16 + (4 * t4);
                int a0 = PackIn(x, m0 + group, m, lo, kEnd, k);
                int a1 = PackIn(x, m0 + group + 8, m, lo, kEnd, k);
                int a2 = PackIn(x, m0 + group, m, hi, kEnd, k);
                int a3 = PackIn(x, m0 + group + 8, m, hi, kEnd, k);
                Int8Mma.Mma(ref c0, a0, a1, a2, a3, PackIn(w, n0 + group, n, lo, kEnd, k), PackIn(w, n0 + group, n, hi, kEnd, k));
                Int8Mma.Mma(ref c1, a0, a1, a2, a3, PackIn(w, n0 + 8 + group, n, lo, kEnd, k), PackIn(w, n0 + 8 + group, n, hi, kEnd, k));
            }
            // Fold this K tile's exact int32 sums into fp32 (per-token: one tile, scales in the epilogue).
            long ra = m0 + group;
            long rb = ra + 8;
            long ca = n0 + (2 * t4);
            long cb = n0 + 8 + (2 * t4);
            f00 += c0.D0 * TileScale(xs, ws, ra, ca, m, n, kt, kTiles, blockScaled);
            f01 += c0.D1 * TileScale(xs, ws, ra, ca + 1, m, n, kt, kTiles, blockScaled);
            f02 += c0.D2 * TileScale(xs, ws, rb, ca, m, n, kt, kTiles, blockScaled);
            f03 += c0.D3 * TileScale(xs, ws, rb, ca + 1, m, n, kt, kTiles, blockScaled);
            f10 += c1.D0 * TileScale(xs, ws, ra, cb, m, n, kt, kTiles, blockScaled);
            f11 += c1.D1 * TileScale(xs, ws, ra, cb + 1, m, n, kt, kTiles, blockScaled);
            f12 += c1.D2 * TileScale(xs, ws, rb, cb, m, n, kt, kTiles, blockScaled);
            f13 += c1.D3 * TileScale(xs, ws, rb, cb + 1, m, n, kt, kTiles, blockScaled);
            c0 = default;
            c1 = default;
        }
        long r0 = m0 + group;
        long col0 = n0 + (2 * t4);
        long col1 = n0 + 8 + (2 * t4);
        Store<T, TCodec>(y, epilogue, r0, col0, f00, m, n);
        Store<T, TCodec>(y, epilogue, r0, col0 + 1, f01, m, n);
        Store<T, TCodec>(y, epilogue, r0 + 8, col0, f02, m, n);
        Store<T, TCodec>(y, epilogue, r0 + 8, col0 + 1, f03, m, n);
        Store<T, TCodec>(y, epilogue, r0, col1, f10, m, n);
        Store<T, TCodec>(y, epilogue, r0, col1 + 1, f11, m, n);
        Store<T, TCodec>(y, epilogue, r0 + 8, col1, f12, m, n);
        Store<T, TCodec>(y, epilogue, r0 + 8, col1 + 1, f13, m, n);
    }

    private static long XMathMin(long a, long b) => a < b ? a : b;

    // Four int8 from [kStart's tile] only: columns at or past kEnd read as zero, so a K tile never
    // borrows from the next one.
    private static int PackIn(ArrayView<sbyte> a, long row, long rows, long col, long kEnd, long cols) =>
        Int8Mma.Pack(a, row, rows, col, kEnd, cols);

    private static float TileScale(ArrayView<float> xs, ArrayView<float> ws, long row, long col, long m, long n, long kt, long kTiles, int blockScaled)
    {
        if (blockScaled == 0)
        {
            return 1f;
        }
        if (row >= m || col >= n)
        {
            return 0f;
        }
        return xs[(row / BlockTile * kTiles) + kt] * ws[(col / BlockTile * kTiles) + kt];
    }

    private static void Store<T, TCodec>(ArrayView<T> y, LinearEpilogue epilogue, long row, long col, float acc, long m, long n)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        if (row < m && col < n)
        {
            y[(row * n) + col] = default(TCodec).Store(epilogue.Apply(row, col, acc));
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            if (p.M == 0 || p.N == 0)
            {
                return;
            }
            var kernel = backend.Kernel(Kernel<T, TCodec>, a => a.LoadStreamKernel<ArrayView<sbyte>, ArrayView<sbyte>, ArrayView<float>, ArrayView<float>, ArrayView<T>,
                long, long, long, int, LinearEpilogue>(Kernel<T, TCodec>));
            var xs = backend.View<float>(t["x_scale"]);
            var ws = backend.View<float>(t["w_scale"]);
            var bias = p.HasBias ? backend.View<float>(t["bias"]) : xs;
            bool block = p.Scheme == W8A8Scheme.Block128;
            var ep = new LinearEpilogue(xs, ws, bias, block ? 0 : 1, p.HasBias ? 1 : 0, p.Gelu ? 1 : 0);
            var grid = new Index2D(checked((int)((p.N + 15) / 16)), checked((int)((p.M + 15) / 16)));
            kernel(new KernelConfig(grid, new Index2D(32, 1)), backend.View<sbyte>(t["x"]), backend.View<sbyte>(t["weight"]), xs, ws, backend.View<T>(t["y"]),
                p.M, p.N, p.K, block ? 1 : 0, ep);
        }
    }
}
