// linear_fp8: y = (x_q W_q^T) * sx[m] * sw[n] + bias, GELU-tanh, with FP8 E4M3 operands.
//
// Operands: x_q e4m3 [M, K] with per-token scales [M] (or one scale broadcast: quantize per
// tensor, then expand), W_q e4m3 [N, K] with per-output-channel scales [N]. The products of
// two E4M3 values are exact in fp32 and are accumulated in fp32 (as the tensor cores do).
// ILGPU: TiledGemm's CUDA-core tiles, E4M3 decoded to fp32 as tiles are staged (ILGPU's PTX
// ISA 7.8 has no FP8 MMA: this path is the portable one). CUDA: kernels/gemm/linear_fp8.cu.
// rounding=per-op and bias_add=separate round the scaled sum as linear's do its sum.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>FP8 E4M3 linear with per-token x per-channel scales and a fused bias + GELU epilogue.</summary>
[Op("linear_fp8", Cases = typeof(LinearFp8Cases), Summary = "FP8 E4M3 x E4M3 GEMM, fp32 accumulation, fused per-token x per-channel scales, bias, GELU")]
public sealed partial class LinearFp8 : IOp<LinearFp8.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of y.</param>
    /// <param name="M">Tokens.</param>
    /// <param name="N">Output features.</param>
    /// <param name="K">Input features.</param>
    /// <param name="HasBias">Whether a bias is added.</param>
    /// <param name="Gelu">Whether GELU-tanh follows.</param>
    /// <param name="Rounding">PerOp: with GELU, the scaled sum + bias is rounded to <paramref name="DType"/> before the GELU (<see cref="Linear.Params"/>).</param>
    /// <param name="SeparateBias">The scaled sum is rounded to <paramref name="DType"/> before the bias is added.</param>
    public readonly record struct Params(DType DType, long M, long N, long K, bool HasBias, bool Gelu, Rounding Rounding = Rounding.Fused, bool SeparateBias = false) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} M={M} N={N} K={K}{(HasBias ? " bias" : string.Empty)}{(Gelu ? " gelu" : string.Empty)}{(Rounding == Rounding.PerOp ? " per-op" : string.Empty)}{(SeparateBias ? " separate-bias" : string.Empty)}");

        /// <summary>kernels/gemm's rounding flags for these parameters (<see cref="LinearShapes.RoundingFlags"/>).</summary>
        public int RoundingFlags => LinearShapes.RoundingFlags(Rounding, SeparateBias, HasBias, Gelu);
    }

    /// <summary>Runs on the backend of <paramref name="xq"/>.</summary>
    public static void Run(Tensor xq, Tensor xScale, Tensor wq, Tensor wScale, Tensor? bias, Tensor y, bool gelu = false, Rounding rounding = Rounding.Fused, bool separateBias = false)
    {
        var (m, k, n) = LinearShapes.Of(xq, wq);
        var t = new OpTensors { { "x", xq }, { "x_scale", xScale }, { "weight", wq }, { "w_scale", wScale }, { "y", y } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(xq.Backend, new Params(y.DType, m, n, k, bias is not null, gelu, rounding, separateBias), t);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature()
            .In("x", DType.F8E4M3, new Shape(p.M, p.K), InitSpec.Gaussian(0, 100))
            .In("x_scale", DType.F32, new Shape(p.M), InitSpec.Uniform(1e-3, 1e-2))
            .In("weight", DType.F8E4M3, new Shape(p.N, p.K), InitSpec.Gaussian(0, 100))
            .In("w_scale", DType.F32, new Shape(p.N), InitSpec.Uniform(1e-3, 1e-2));
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
        return new Params(binding.Get(LinearShapes.OutDTypeAttr), m, n, k, binding.Has("bias"), binding.Get(LinearShapes.GeluAttr),
            LinearShapes.ParseRounding(binding.Get(LinearShapes.RoundingAttr)), binding.Get(LinearShapes.BiasAddAttr) == "separate");
    }

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(LinearShapes.OutDTypeAttr, LinearShapes.GeluAttr, LinearShapes.RoundingAttr, LinearShapes.BiasAddAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(LinearShapes.OutDTypeAttr, p.DType).Set(LinearShapes.GeluAttr, p.Gelu)
        .Set(LinearShapes.RoundingAttr, LinearShapes.RoundingName(p.Rounding)).Set(LinearShapes.BiasAddAttr, p.SeparateBias ? "separate" : "fused");

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var xs = t.Read("x_scale");
        var ws = t.Read("w_scale");
        var bias = p.HasBias ? t.Read("bias") : null;
        t.Write("y", LinearShapes.ReferenceGemm(t.Read("x"), t.Read("weight"), p.M, p.N, p.K, p.K, (m, n, _) => xs[m] * ws[n], bias, p.Gelu, p.DType, p.RoundingFlags));
    }

    /// <summary>ILGPU: shared-memory tiled CUDA-core GEMM (TiledGemm).</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/gemm/linear_fp8.cu.</summary>
    [CudaKernel("sm_80", "linear_fp8_mma_sm80", "e4m3 mma.sync on sm_89+, f16 mma.sync over the same codes below")]
    [CudaKernel("sm_90", "linear_fp8_sm90_ws_<dtype>", "K a multiple of 16, x and W 16-byte aligned; promoted into fp32 every 128 of K")]
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        ZtNative.LinearFp8(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, p.RoundingFlags, t["x"], t["weight"], t["x_scale"], t["w_scale"], p.HasBias ? t["bias"] : null, t["y"]);
        OpNotes.RecordNativeKernel("linear_fp8");
    }

    /// <summary>The kernel: a 16x16 group per 64x64 tile of y (TiledGemm); E4M3 decoded once per element as it is staged.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<byte> x, ArrayView<byte> w, ArrayView<T> y, long m, long n, long k, LinearEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var smem = SharedMemory.Allocate<float>(TiledGemm.SharedWords);
        long m0 = (long)Grid.IdxY * TiledGemm.TileM;
        long n0 = (long)Grid.IdxX * TiledGemm.TileN;
        var acc = default(Tile4x4);
        TiledGemm.Accumulate<byte, E4M3Operand>(x, w, smem, m0, n0, m, n, k, 0, k, ref acc);
        TiledGemm.Store<T, TCodec>(y, epilogue, acc, m0, n0, m, n);
    }

    /// <summary>
    /// E4M3 operands: every code is exact in fp32, and so is the product of two. The same values
    /// as <see cref="Fp8Math.DecodeE4M3"/>, computed without branches: its data-dependent branches
    /// became `bra.uni` in ILGPU's PTX, which promises the warp branches alike - false for
    /// neighbouring elements of a tile (the emulator flags it; a GPU may mis-execute it).
    /// </summary>
    internal readonly struct E4M3Operand : ITileOperand<byte>
    {
        /// <inheritdoc />
        public float Decode(byte value)
        {
            uint c = value;
            uint exp = (c >> 3) & 0xFu;
            uint man = c & 0x7u;
            // Subnormals (exp 0) are man * 2^-9 = (1 + man/8) * 2^-6 - 2^-6: encode them with
            // exponent 1 and subtract the implicit one (exact), so one formula covers both.
            uint sub = (exp - 1u) >> 31;
            float mag = Interop.IntAsFloat(((exp + sub + 120u) << 23) | (man << 20)) - Interop.IntAsFloat(sub * (121u << 23));
            // S.1111.111 is NaN (E4M3 has no infinities): all-ones exponent and a quiet mantissa.
            uint nan = ((c & 0x7Fu) + 1u) >> 7;
            return Interop.IntAsFloat(Interop.FloatAsInt(mag) | (nan * 0x7FC00000u) | ((c & 0x80u) << 24));
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
            var kernel = backend.Kernel(Kernel<T, TCodec>, a =>
                a.LoadStreamKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<T>, long, long, long, LinearEpilogue>(Kernel<T, TCodec>));
            var xs = backend.View<float>(t["x_scale"]);
            var ws = backend.View<float>(t["w_scale"]);
            var ep = new LinearEpilogue(xs, ws, p.HasBias ? backend.View<float>(t["bias"]) : xs, 1, p.HasBias ? 1 : 0, p.Gelu ? 1 : 0, p.RoundingFlags);
            var grid = new Index2D(checked((int)((p.N + TiledGemm.TileN - 1) / TiledGemm.TileN)), checked((int)((p.M + TiledGemm.TileM - 1) / TiledGemm.TileM)));
            kernel(new KernelConfig(grid, new Index2D(TiledGemm.Threads, TiledGemm.Threads)),
                backend.View<byte>(t["x"]), backend.View<byte>(t["weight"]), backend.View<T>(t["y"]), p.M, p.N, p.K, ep);
        }
    }
}
