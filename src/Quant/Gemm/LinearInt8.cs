// linear_int8: y = (x_q W_q^T) scaled, + bias, GELU-tanh: the W8A8 GEMM with its dequantizing
// epilogue fused.
//
// Operands: x_q int8 [M, K], W_q int8 [N, K] (quantize's outputs), f32 scales either per token
// [M] x per output channel [N] (acc * sx[m] * sw[n] once), or per 128x128 tile
// ([ceil(M/128), ceil(K/128)] and [ceil(N/128), ceil(K/128)]: the int32 sum of each 128-wide K
// tile folded into fp32 with the product of its two tiles' scales, TurboDiffusion's scheme).
// int32 accumulation is exact. Output f32/f16/bf16, bias f32 [N]. rounding=per-op and
// bias_add=separate round the scaled sum as linear's do its sum (CUTLASS is not used with them).
// ILGPU: TiledGemm's CUDA-core tiles (fp32 FMAs, exact per 128-wide K tile; see Kernel). CUDA: kernels/gemm/linear_int8.cu.
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
    /// <param name="Rounding">PerOp: with GELU, the scaled sum + bias is rounded to <paramref name="DType"/> before the GELU (<see cref="Linear.Params"/>).</param>
    /// <param name="SeparateBias">The scaled sum is rounded to <paramref name="DType"/> before the bias is added.</param>
    public readonly record struct Params(DType DType, long M, long N, long K, W8A8Scheme Scheme, bool HasBias, bool Gelu, Rounding Rounding = Rounding.Fused, bool SeparateBias = false) : IOpParams
    {
        /// <summary>128-wide K tiles.</summary>
        public long KTiles => (K + BlockTile - 1) / BlockTile;

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} M={M} N={N} K={K} {(Scheme == W8A8Scheme.Block128 ? "block128" : "token x channel")}{(HasBias ? " bias" : string.Empty)}{(Gelu ? " gelu" : string.Empty)}{(Rounding == Rounding.PerOp ? " per-op" : string.Empty)}{(SeparateBias ? " separate-bias" : string.Empty)}");

        /// <summary>kernels/gemm's rounding flags for these parameters (<see cref="LinearShapes.RoundingFlags"/>).</summary>
        public int RoundingFlags => LinearShapes.RoundingFlags(Rounding, SeparateBias, HasBias, Gelu);

        /// <summary>Shape of x's scales.</summary>
        public Shape XScaleShape => Scheme == W8A8Scheme.Block128 ? new((M + BlockTile - 1) / BlockTile, KTiles) : new(M);

        /// <summary>Shape of W's scales.</summary>
        public Shape WScaleShape => Scheme == W8A8Scheme.Block128 ? new((N + BlockTile - 1) / BlockTile, KTiles) : new(N);
    }

    /// <summary>Runs on the backend of <paramref name="xq"/>.</summary>
    public static void Run(W8A8Scheme scheme, Tensor xq, Tensor xScale, Tensor wq, Tensor wScale, Tensor? bias, Tensor y, bool gelu = false,
        Rounding rounding = Rounding.Fused, bool separateBias = false)
    {
        var (m, k, n) = LinearShapes.Of(xq, wq);
        var t = new OpTensors { { "x", xq }, { "x_scale", xScale }, { "weight", wq }, { "w_scale", wScale }, { "y", y } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(xq.Backend, new Params(y.DType, m, n, k, scheme, bias is not null, gelu, rounding, separateBias), t);
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
        return new Params(binding.Get(LinearShapes.OutDTypeAttr), m, n, k, scheme, binding.Has("bias"), binding.Get(LinearShapes.GeluAttr),
            LinearShapes.ParseRounding(binding.Get(LinearShapes.RoundingAttr)), binding.Get(LinearShapes.BiasAddAttr) == "separate");
    }

    private static OpAttr<string> SchemeAttr { get; } = OpAttr.Choice("scheme", "token", "token: x_scale per token [M], w_scale per output channel [N]; block128: 128x128 tiles for both", "token", "block128");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(SchemeAttr, LinearShapes.OutDTypeAttr, LinearShapes.GeluAttr, LinearShapes.RoundingAttr, LinearShapes.BiasAddAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues()
        .Set(SchemeAttr, p.Scheme == W8A8Scheme.Block128 ? "block128" : "token").Set(LinearShapes.OutDTypeAttr, p.DType).Set(LinearShapes.GeluAttr, p.Gelu)
        .Set(LinearShapes.RoundingAttr, LinearShapes.RoundingName(p.Rounding)).Set(LinearShapes.BiasAddAttr, p.SeparateBias ? "separate" : "fused");

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
        t.Write("y", LinearShapes.ReferenceGemm(t.Read("x"), t.Read("weight"), p.M, p.N, p.K, tile, scale, bias, p.Gelu, p.DType, p.RoundingFlags));
    }

    /// <summary>ILGPU: shared-memory tiled CUDA-core GEMM (TiledGemm).</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: CUTLASS with an EVT epilogue where built and applicable (per-token scheme), else kernels/gemm/linear_int8.cu.</summary>
    [CudaKernel("sm_80", "linear_int8_mma_sm80", "per-token x per-channel where CUTLASS is not built or not taken")]
    [CudaKernel("sm_80", "linear_int8_block_mma_sm80", "128x128 block scales")]
    [CudaKernel("sm_90", "linear_int8_sm90_ws_<dtype>", "per-token x per-channel, K a multiple of 16, x and W 16-byte aligned")]
    [CudaKernel("sm_90", "linear_int8_block_sm90_ws_<dtype>", "128x128 block scales (promoted into fp32 every 128 of K), K a multiple of 16, x and W 16-byte aligned")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        bool fits = p.Scheme == W8A8Scheme.PerTokenPerChannel && p.DType != DType.F32 && p.K % 16 == 0 && p.N % 8 == 0;
        string? unsupported = p.RoundingFlags != 0 ? "its epilogue rounds once; rounding=per-op or bias_add=separate asked" : null;
        if (NativeGemmVariants.UseCutlass(backend, "linear_int8", "zt_linear_int8_cutlass", p.M, p.N, p.K, fits, unsupported, t["x"], t["weight"], t["y"]))
        {
            ZtNative.LinearInt8Cutlass(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, t["x"], t["weight"], t["x_scale"], t["w_scale"],
                p.HasBias ? t["bias"] : null, t["y"]);
            return;
        }
        ZtNative.LinearInt8(backend, p.DType, p.M, p.N, p.K, (int)p.Scheme, p.Gelu ? 1 : 0, p.RoundingFlags, p.XScaleShape.ElementCount, p.WScaleShape.ElementCount,
            t["x"], t["weight"], t["x_scale"].Reshape(new Shape(p.XScaleShape.ElementCount)), t["w_scale"].Reshape(new Shape(p.WScaleShape.ElementCount)),
            p.HasBias ? t["bias"] : null, t["y"]);
        OpNotes.RecordNativeKernel("linear_int8");
    }

    /// <summary>
    /// The kernel: a 16x16 group per 64x64 tile of y (TiledGemm), one engine call per 128-wide K
    /// tile. The int8 values are exact in fp32 and so is a 128-long sum of their products
    /// (|sum| &lt;= 128 * 127^2 &lt; 2^24), so each K tile's partial is the exact int32 sum: the
    /// block scheme folds it into fp32 with its two tiles' scales (the f32 promotion every 128 of
    /// K), the per-token scheme adds it into an exact int32 total scaled in the epilogue.
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<sbyte> x, ArrayView<sbyte> w, ArrayView<float> xs, ArrayView<float> ws, ArrayView<T> y,
        long m, long n, long k, int blockScaled, LinearEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var smem = SharedMemory.Allocate<float>(TiledGemm.SharedWords);
        long m0 = (long)Grid.IdxY * TiledGemm.TileM;
        long n0 = (long)Grid.IdxX * TiledGemm.TileN;
        long kTiles = (k + BlockTile - 1) / BlockTile;
        // A 64-row (64-column) block tile lies inside one 128-row (128-column) scale tile.
        long xsRow = m0 / BlockTile * kTiles;
        long wsRow = n0 / BlockTile * kTiles;
        var total = default(Tile4x4);
        var exact = default(IntTile4x4);
        for (long kt = 0; kt < kTiles; kt++)
        {
            long kStart = kt * BlockTile;
            long kEnd = kStart + BlockTile < k ? kStart + BlockTile : k;
            var part = default(Tile4x4);
            TiledGemm.Accumulate<sbyte, Int8Operand>(x, w, smem, m0, n0, m, n, k, kStart, kEnd, ref part);
            if (blockScaled != 0)
            {
                total.AddScaled(part, xs[xsRow + kt] * ws[wsRow + kt]);
            }
            else
            {
                exact.Add(part);
            }
        }
        if (blockScaled == 0)
        {
            total = exact.ToFloat();
        }
        TiledGemm.Store<T, TCodec>(y, epilogue, total, m0, n0, m, n);
    }

    /// <summary>int8 operands: exact in fp32.</summary>
    internal readonly struct Int8Operand : ITileOperand<sbyte>
    {
        /// <inheritdoc />
        public float Decode(sbyte value) => value;
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
            var ep = new LinearEpilogue(xs, ws, bias, block ? 0 : 1, p.HasBias ? 1 : 0, p.Gelu ? 1 : 0, p.RoundingFlags);
            var grid = new Index2D(checked((int)((p.N + TiledGemm.TileN - 1) / TiledGemm.TileN)), checked((int)((p.M + TiledGemm.TileM - 1) / TiledGemm.TileM)));
            kernel(new KernelConfig(grid, new Index2D(TiledGemm.Threads, TiledGemm.Threads)), backend.View<sbyte>(t["x"]), backend.View<sbyte>(t["weight"]), xs, ws, backend.View<T>(t["y"]),
                p.M, p.N, p.K, block ? 1 : 0, ep);
        }
    }
}
