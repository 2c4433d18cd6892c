// linear: y = x W^T (+ bias) (then GELU-tanh), the unquantized path: the bf16 baseline the
// quantized paths are measured against and the fallback where they do not win.
//
// Layout: x [M, K], W [N, K] (PyTorch's Linear: one row per output feature), y [M, N], one
// dtype (f32/f16/bf16); bias f32 [N]. fp32 accumulation and epilogue, one rounding; or, to
// reproduce an eager bf16 model (issue 20's --match reference), R to y's dtype at its op
// boundaries too: rounding=per-op, y = R(gelu(R(acc + bias))) (nn.Linear then nn.GELU);
// bias_add=separate, R(acc) before the bias (a cuDNN convolution then its bias add_). ILGPU:
// TiledGemm (64x64 output tiles, 4x4 register blocks, double-buffered shared stages). CUDA: CUTLASS tensor-core GEMM
// with the bias and GELU in its epilogue where built (kernels/gemm/linear_cutlass.cu) and no
// extra rounding is asked, else the hand-written tensor-core GEMM (kernels/gemm/linear.cu).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>y = x W^T + bias, optional GELU-tanh, fp32 accumulation.</summary>
[Op("linear", Cases = typeof(LinearCases), Summary = "y = x W^T (+ bias) (+ GELU-tanh), fp32 accumulation (f32/f16/bf16)")]
public sealed partial class Linear : IOp<Linear.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x, W and y.</param>
    /// <param name="M">Rows of x (tokens).</param>
    /// <param name="N">Output features.</param>
    /// <param name="K">Input features.</param>
    /// <param name="HasBias">Whether a bias is added.</param>
    /// <param name="Gelu">Whether GELU-tanh follows.</param>
    /// <param name="Rounding">PerOp: with GELU, acc + bias is rounded to <paramref name="DType"/> before the GELU (no effect without GELU).</param>
    /// <param name="SeparateBias">acc is rounded to <paramref name="DType"/> before the bias is added (no effect without a bias).</param>
    public readonly record struct Params(DType DType, long M, long N, long K, bool HasBias, bool Gelu, Rounding Rounding = Rounding.Fused, bool SeparateBias = false) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} M={M} N={N} K={K}{(HasBias ? " bias" : string.Empty)}{(Gelu ? " gelu" : string.Empty)}{(Rounding == Rounding.PerOp ? " per-op" : string.Empty)}{(SeparateBias ? " separate-bias" : string.Empty)}");

        /// <summary>kernels/gemm's rounding flags for these parameters (<see cref="LinearShapes.RoundingFlags"/>).</summary>
        public int RoundingFlags => LinearShapes.RoundingFlags(Rounding, SeparateBias, HasBias, Gelu);
    }

    /// <summary>Runs on the backend of <paramref name="x"/>.</summary>
    public static void Run(Tensor x, Tensor weight, Tensor? bias, Tensor y, bool gelu = false, Rounding rounding = Rounding.Fused, bool separateBias = false)
    {
        var (m, k, n) = LinearShapes.Of(x, weight);
        var t = new OpTensors { { "x", x }, { "weight", weight }, { "y", y } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(x.Backend, new Params(x.DType, m, n, k, bias is not null, gelu, rounding, separateBias), t);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature()
            .In("x", p.DType, new Shape(p.M, p.K))
            .In("weight", p.DType, new Shape(p.N, p.K), InitSpec.Gaussian(0, 1 / Math.Sqrt(Math.Max(1, p.K))));
        if (p.HasBias)
        {
            s.In("bias", DType.F32, new Shape(p.N), InitSpec.Gaussian(0, 0.5));
        }
        return s.Out("y", p.DType, new Shape(p.M, p.N));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(2.0 * p.M * p.N * p.K, ((p.M * p.K) + (p.N * p.K) + (p.M * p.N)) * (double)p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var (m, k, n) = LinearShapes.Of(binding.Input("x"), binding.Input("weight"));
        return new Params(binding.Input("x").DType, m, n, k, binding.Has("bias"), binding.Get(LinearShapes.GeluAttr),
            LinearShapes.ParseRounding(binding.Get(LinearShapes.RoundingAttr)), binding.Get(LinearShapes.BiasAddAttr) == "separate");
    }

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(LinearShapes.GeluAttr, LinearShapes.RoundingAttr, LinearShapes.BiasAddAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues()
        .Set(LinearShapes.GeluAttr, p.Gelu)
        .Set(LinearShapes.RoundingAttr, LinearShapes.RoundingName(p.Rounding))
        .Set(LinearShapes.BiasAddAttr, p.SeparateBias ? "separate" : "fused");

    /// <summary>The oracle: double accumulation over the rounded inputs; the asked roundings to y's dtype through its codec.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var bias = p.HasBias ? t.Read("bias") : null;
        t.Write("y", LinearShapes.ReferenceGemm(t.Read("x"), t.Read("weight"), p.M, p.N, p.K, p.K, null, bias, p.Gelu, p.DType, p.RoundingFlags));
    }

    /// <summary>ILGPU: shared-memory tiled GEMM.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: CUTLASS where built and applicable (f16/bf16, one rounding), else the hand-written kernels/gemm/linear.cu.</summary>
    [CudaKernel("sm_80", "linear_f32_simt", "f32")]
    [CudaKernel("sm_80", "linear_mma_sm80", "f16/bf16 where CUTLASS is not built or not taken (rounding flags, K or N not a multiple of 8)")]
    [CudaKernel("sm_90", "linear_sm90_ws_<dtype>", "f16/bf16, rows of x and W 16-byte aligned (K * 2 a multiple of 16)")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        bool fits = p.DType != DType.F32 && p.K % 8 == 0 && p.N % 8 == 0;
        string? unsupported = p.RoundingFlags != 0 ? "its epilogue rounds once; rounding=per-op or bias_add=separate asked" : null;
        if (NativeGemmVariants.UseCutlass(backend, "linear", "zt_linear_cutlass", p.M, p.N, p.K, fits, unsupported, t["x"], t["weight"], t["y"]))
        {
            ZtNative.LinearCutlass(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, t["x"], t["weight"], p.HasBias ? t["bias"] : null, t["y"]);
            return;
        }
        ZtNative.Linear(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, p.RoundingFlags, t["x"], t["weight"], p.HasBias ? t["bias"] : null, t["y"]);
        OpNotes.RecordNativeKernel("linear");
    }

    /// <summary>The kernel: a 16x16 group computes a 64x64 tile of y (TiledGemm: 4x4 fp32 accumulators per thread).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> w, ArrayView<T> y, long m, long n, long k, LinearEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var smem = SharedMemory.Allocate<float>(TiledGemm.SharedWords);
        long m0 = (long)Grid.IdxY * TiledGemm.TileM;
        long n0 = (long)Grid.IdxX * TiledGemm.TileN;
        var acc = default(Tile4x4);
        TiledGemm.Accumulate<T, CodecOperand<T, TCodec>>(x, w, smem, m0, n0, m, n, k, 0, k, ref acc);
        TiledGemm.Store<T, TCodec>(y, epilogue, acc, m0, n0, m, n);
    }

    /// <summary>x and W decode through the dtype's codec (exact for f32, f16, bf16).</summary>
    internal readonly struct CodecOperand<T, TCodec> : ITileOperand<T>
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        /// <inheritdoc />
        public float Decode(T value) => default(TCodec).Load(value);
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
            var kernel = backend.Kernel(Kernel<T, TCodec>, a =>
                a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, long, long, long, LinearEpilogue>(Kernel<T, TCodec>));
            var bias = p.HasBias ? backend.View<float>(t["bias"]) : ArrayView<float>.Empty;
            var ep = new LinearEpilogue(bias, bias, bias, scaled: 0, p.HasBias ? 1 : 0, p.Gelu ? 1 : 0, p.RoundingFlags);
            var grid = new Index2D(checked((int)((p.N + TiledGemm.TileN - 1) / TiledGemm.TileN)), checked((int)((p.M + TiledGemm.TileM - 1) / TiledGemm.TileM)));
            kernel(new KernelConfig(grid, new Index2D(TiledGemm.Threads, TiledGemm.Threads)), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), backend.View<T>(t["y"]), p.M, p.N, p.K, ep);
        }
    }
}
