// rms_norm: y = x * rsqrt(mean(x^2) + eps) * weight over the last dimension.
//
// Layout: x, y contiguous [rows, dim]; weight [dim]; one dtype (f32/f16/bf16). Precision: fp32
// math, one rounding of the output. rounding=per-op: WanRMSNorm's
// `self._norm(x.float()).type_as(x) * self.weight`, y = R(R(x * rstd) * w) with rstd from the
// fp32 mean of squares. Kernel: RowNormEngine, one warp per row; CUDA: kernels/norm/rms_norm.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>RMSNorm with a learned weight over the last dimension.</summary>
[Op("rms_norm", Cases = typeof(RmsNormCases), Summary = "y = x * rsqrt(mean(x^2) + eps) * weight over the last dim (fp32 math)")]
public sealed partial class RmsNorm : IOp<RmsNorm.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">f32, f16 or bf16 (x, weight and y).</param>
    /// <param name="Rows">Rows (tokens).</param>
    /// <param name="Dim">Row length.</param>
    /// <param name="Eps">Added to the mean square.</param>
    /// <param name="Rounding">Fused (one rounding) or PerOp (rounded before the weight multiply, as WanRMSNorm).</param>
    public readonly record struct Params(DType DType, long Rows, int Dim, float Eps, Rounding Rounding = Rounding.Fused) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} [{Rows}, {Dim}] eps={Eps}{NormRounding.Label(Rounding)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/> ([rows, dim], or any shape whose last extent is dim).</summary>
    public static void Run(Tensor x, Tensor weight, Tensor y, float eps = 1e-6f, Rounding rounding = Rounding.Fused)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (rows, dim) = NormShapes.Rows(x);
        Info.Run(x.Backend, new Params(x.DType, rows, dim, eps, rounding),
            new OpTensors { { "x", NormShapes.AsRows(x, rows, dim) }, { "weight", weight }, { "y", NormShapes.AsRows(y, rows, dim) } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p) => new OpSignature()
        .In("x", p.DType, new Shape(p.Rows, p.Dim))
        .In("weight", p.DType, new Shape(p.Dim), InitSpec.Gaussian(1, 0.25))
        .Out("y", p.DType, new Shape(p.Rows, p.Dim));

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(4.0 * p.Rows * p.Dim, ((2.0 * p.Rows * p.Dim) + p.Dim) * p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        var (rows, dim) = NormShapes.Rows(x);
        return new Params(x.DType, rows, dim, binding.Get(EpsAttr), NormRounding.Get(binding));
    }

    private static OpAttr<float> EpsAttr { get; } = OpAttr.Float("eps", 1e-6f, "epsilon added to the mean square", min: 0);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(EpsAttr, NormRounding.Attr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(EpsAttr, p.Eps).Set(NormRounding.Attr, NormRounding.Name(p.Rounding));

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var w = t.Read("weight");
        var y = new double[x.Length];
        for (long r = 0; r < p.Rows; r++)
        {
            long o = r * p.Dim;
            double ss = 0;
            for (int c = 0; c < p.Dim; c++)
            {
                ss += x[o + c] * x[o + c];
            }
            double rstd = 1 / Math.Sqrt((ss / p.Dim) + p.Eps);
            for (int c = 0; c < p.Dim; c++)
            {
                y[o + c] = NormRounding.At(p.Rounding, p.DType, NormRounding.At(p.Rounding, p.DType, x[o + c] * rstd) * w[c]);
            }
        }
        t.Write("y", y);
    }

    /// <summary>ILGPU: the row-norm engine, one warp per row.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/rms_norm.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.RmsNorm(backend, p.DType, p.Rows, p.Dim, p.Eps, NormRounding.Abi(p.Rounding), t["x"], t["weight"], t["y"]);

    /// <summary>The kernel: group = one warp = one row.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> y, int dim, float eps, int perOp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        RowNormEngine.Run<T, TCodec, RowSource<T, TCodec>, AffineEpilogue<T, TCodec>>(
            y, dim, eps, rms: true, new RowSource<T, TCodec>(x, dim), new AffineEpilogue<T, TCodec>(weight, weight, hasWeight: true, hasBias: false, perOp: perOp != 0));

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, float, int>(Kernel<T, TCodec>));
            kernel(NormShapes.RowGrid(p.Rows), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), backend.View<T>(t["y"]), p.Dim, p.Eps, NormRounding.Abi(p.Rounding));
        }
    }
}
