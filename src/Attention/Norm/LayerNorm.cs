// layer_norm: y = (x - mean) * rsqrt(var + eps) [* weight + bias] over the last dimension.
//
// Layout: x, y contiguous [rows, dim]; weight, bias [dim] when affine; one dtype (f32/f16/bf16).
// Precision: fp32, biased variance taken about the mean (two-pass), one output rounding; the
// reference is double. Wan uses it without affine (eps 1e-6) before modulation, and with affine
// (norm3) before cross-attention. Kernel: RowNormEngine; CUDA: kernels/norm/layer_norm.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>LayerNorm over the last dimension, with or without affine weight and bias.</summary>
[Op("layer_norm", Cases = typeof(LayerNormCases), Summary = "y = (x - mean) * rsqrt(var + eps) [* w + b] over the last dim (fp32 math)")]
public sealed partial class LayerNorm : IOp<LayerNorm.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">f32, f16 or bf16.</param>
    /// <param name="Rows">Rows.</param>
    /// <param name="Dim">Row length.</param>
    /// <param name="Eps">Added to the variance.</param>
    /// <param name="Affine">Whether weight and bias are applied.</param>
    public readonly record struct Params(DType DType, long Rows, int Dim, float Eps, bool Affine) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} [{Rows}, {Dim}] eps={Eps}{(Affine ? " affine" : string.Empty)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/>; pass null weight and bias for no affine.</summary>
    public static void Run(Tensor x, Tensor? weight, Tensor? bias, Tensor y, float eps = 1e-6f)
    {
        ArgumentNullException.ThrowIfNull(x);
        if ((weight is null) != (bias is null))
        {
            throw new ArgumentException("layer_norm takes both weight and bias or neither", weight is null ? nameof(weight) : nameof(bias));
        }
        var (rows, dim) = NormShapes.Rows(x);
        var tensors = new OpTensors { { "x", NormShapes.AsRows(x, rows, dim) }, { "y", NormShapes.AsRows(y, rows, dim) } };
        if (weight is not null)
        {
            tensors.Add("weight", weight);
            tensors.Add("bias", bias!);
        }
        Info.Run(x.Backend, new Params(x.DType, rows, dim, eps, weight is not null), tensors);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature().In("x", p.DType, new Shape(p.Rows, p.Dim), InitSpec.Gaussian(0.5, 2));
        if (p.Affine)
        {
            s.In("weight", p.DType, new Shape(p.Dim), InitSpec.Gaussian(1, 0.25)).In("bias", p.DType, new Shape(p.Dim));
        }
        return s.Out("y", p.DType, new Shape(p.Rows, p.Dim));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(7.0 * p.Rows * p.Dim, ((2.0 * p.Rows * p.Dim) + (p.Affine ? 2.0 * p.Dim : 0)) * p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        var (rows, dim) = NormShapes.Rows(x);
        bool affine = binding.Has("weight") | binding.Has("bias");
        return new Params(x.DType, rows, dim, binding.Get(EpsAttr), affine);
    }

    private static OpAttr<float> EpsAttr { get; } = OpAttr.Float("eps", 1e-6f, "epsilon added to the variance", min: 0);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(EpsAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(EpsAttr, p.Eps);

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var w = p.Affine ? t.Read("weight") : null;
        var b = p.Affine ? t.Read("bias") : null;
        var y = new double[x.Length];
        for (long r = 0; r < p.Rows; r++)
        {
            long o = r * p.Dim;
            var (mean, rstd) = NormReference.Moments(x, o, p.Dim, p.Eps);
            for (int c = 0; c < p.Dim; c++)
            {
                double v = (x[o + c] - mean) * rstd;
                y[o + c] = p.Affine ? (v * w![c]) + b![c] : v;
            }
        }
        t.Write("y", y);
    }

    /// <summary>ILGPU: the row-norm engine, one warp per row.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/layer_norm.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.LayerNorm(backend, p.DType, p.Rows, p.Dim, p.Eps, t["x"], p.Affine ? t["weight"] : null, p.Affine ? t["bias"] : null, t["y"]);

    /// <summary>The kernel: group = one warp = one row; without affine, weight and bias are unused stand-ins.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> bias, ArrayView<T> y, int dim, float eps, int affine)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        RowNormEngine.Run<T, TCodec, RowSource<T, TCodec>, AffineEpilogue<T, TCodec>>(
            y, dim, eps, rms: false, new RowSource<T, TCodec>(x, dim), new AffineEpilogue<T, TCodec>(weight, bias, affine != 0, affine != 0));

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, float, int>(Kernel<T, TCodec>));
            var x = backend.View<T>(t["x"]);
            var w = p.Affine ? backend.View<T>(t["weight"]) : x;
            var b = p.Affine ? backend.View<T>(t["bias"]) : x;
            kernel(NormShapes.RowGrid(p.Rows), x, w, b, backend.View<T>(t["y"]), p.Dim, p.Eps, p.Affine ? 1 : 0);
        }
    }
}
