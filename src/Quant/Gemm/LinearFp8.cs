// linear_fp8: y = (x_q W_q^T) * sx[m] * sw[n] + bias, GELU-tanh, with FP8 E4M3 operands.
//
// Operands: x_q e4m3 [M, K] with per-token scales [M] (or one scale broadcast: quantize per
// tensor, then expand), W_q e4m3 [N, K] with per-output-channel scales [N]. The products of
// two E4M3 values are exact in fp32 and are accumulated in fp32 (as the tensor cores do).
// ILGPU: one thread per output, E4M3 decoded in registers (ILGPU's PTX ISA 7.8 has no FP8 MMA:
// this path is the portable one). CUDA: kernels/gemm/linear_fp8.cu.
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
    public readonly record struct Params(DType DType, long M, long N, long K, bool HasBias, bool Gelu) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} M={M} N={N} K={K}{(HasBias ? " bias" : string.Empty)}{(Gelu ? " gelu" : string.Empty)}");
    }

    /// <summary>Runs on the backend of <paramref name="xq"/>.</summary>
    public static void Run(Tensor xq, Tensor xScale, Tensor wq, Tensor wScale, Tensor? bias, Tensor y, bool gelu = false)
    {
        var (m, k, n) = LinearShapes.Of(xq, wq);
        var t = new OpTensors { { "x", xq }, { "x_scale", xScale }, { "weight", wq }, { "w_scale", wScale }, { "y", y } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(xq.Backend, new Params(y.DType, m, n, k, bias is not null, gelu), t);
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
        return new Params(binding.Get(LinearShapes.OutDTypeAttr), m, n, k, binding.Has("bias"), binding.Get(LinearShapes.GeluAttr));
    }

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(LinearShapes.OutDTypeAttr, LinearShapes.GeluAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(LinearShapes.OutDTypeAttr, p.DType).Set(LinearShapes.GeluAttr, p.Gelu);

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var xs = t.Read("x_scale");
        var ws = t.Read("w_scale");
        var bias = p.HasBias ? t.Read("bias") : null;
        t.Write("y", LinearShapes.ReferenceGemm(t.Read("x"), t.Read("weight"), p.M, p.N, p.K, p.K, (m, n, _) => xs[m] * ws[n], bias, p.Gelu));
    }

    /// <summary>ILGPU: one thread per output element.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    public static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/gemm/linear_fp8.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    public static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.LinearFp8(backend, p.DType, p.M, p.N, p.K, p.Gelu ? 1 : 0, t["x"], t["weight"], t["x_scale"], t["w_scale"], p.HasBias ? t["bias"] : null, t["y"]);

    /// <summary>The kernel: (column n, row m) per thread.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    public static void Kernel<T, TCodec>(Index2D i, ArrayView<byte> x, ArrayView<byte> w, ArrayView<T> y, long k, long n, LinearEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        long col = i.X;
        long row = i.Y;
        float acc = 0f;
        for (long kk = 0; kk < k; kk++)
        {
            acc += Fp8Math.DecodeE4M3(x[(row * k) + kk]) * Fp8Math.DecodeE4M3(w[(col * k) + kk]);
        }
        y[(row * n) + col] = default(TCodec).Store(epilogue.Apply(row, col, acc));
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
                a.LoadAutoGroupedStreamKernel<Index2D, ArrayView<byte>, ArrayView<byte>, ArrayView<T>, long, long, LinearEpilogue>(Kernel<T, TCodec>));
            var xs = backend.View<float>(t["x_scale"]);
            var ws = backend.View<float>(t["w_scale"]);
            var ep = new LinearEpilogue(xs, ws, p.HasBias ? backend.View<float>(t["bias"]) : xs, 1, p.HasBias ? 1 : 0, p.Gelu ? 1 : 0);
            kernel(new Index2D(checked((int)p.N), checked((int)p.M)), backend.View<byte>(t["x"]), backend.View<byte>(t["weight"]), backend.View<T>(t["y"]), p.K, p.N, ep);
        }
    }
}
