// axpby: out = a*x + b*y, elementwise, over any shape.
//
// Layout: x, y, out contiguous, same dtype (f32, f16, bf16) and shape. Precision: inputs are
// widened to fp32, combined in fp32, rounded once to the output dtype (round to nearest even);
// the reference computes in double. Memory-bound: 3 tensors moved, 3 flops per element.
//
// Backends: reference (below), ilgpu-cpu / ilgpu-cuda (one generic kernel, instantiated per
// dtype), cuda (kernels/elementwise/axpby.cu via the generated ZtNative.Axpby).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Runtime.Elementwise;

/// <summary><c>out = a*x + b*y</c> elementwise (f32/f16/bf16 storage, fp32 math).</summary>
[Op("axpby", Cases = typeof(AxpbyCases), Summary = "out = a*x + b*y elementwise (f32/f16/bf16, fp32 math)")]
public sealed partial class Axpby : IOp<Axpby.Params>
{
    /// <summary>Parameters: element type, shape, and the two scalars.</summary>
    /// <param name="DType">f32, f16 or bf16.</param>
    /// <param name="Shape">Shape of x, y and out.</param>
    /// <param name="A">Scale of x.</param>
    /// <param name="B">Scale of y.</param>
    public readonly record struct Params(DType DType, Shape Shape, float A, float B) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} {Shape} a={A} b={B}");
    }

    /// <summary>Runs <c>out = a*x + b*y</c> on the backend the tensors live on.</summary>
    public static void Run(float a, Tensor x, float b, Tensor y, Tensor output)
    {
        ArgumentNullException.ThrowIfNull(x);
        Info.Run(x.Backend, new Params(x.DType, x.Shape, a, b), new OpTensors { { "x", x }, { "y", y }, { "out", output } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p) => new OpSignature()
        .In("x", p.DType, p.Shape)
        .In("y", p.DType, p.Shape)
        .Out("out", p.DType, p.Shape);

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(3.0 * p.Shape.ElementCount, 3.0 * p.Shape.ElementCount * p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        return new Params(x.DType, x.Shape, binding.Get(AAttr), binding.Get(BAttr));
    }

    private static OpAttr<float> AAttr { get; } = OpAttr.Float("a", 1f, "coefficient of x");

    private static OpAttr<float> BAttr { get; } = OpAttr.Float("b", 1f, "coefficient of y");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(AAttr, BAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(AAttr, p.A).Set(BAttr, p.B);

    /// <summary>The oracle: double arithmetic, one rounding to the output dtype.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var y = t.Read("y");
        var o = new double[x.Length];
        for (int i = 0; i < o.Length; i++)
        {
            o[i] = ((double)p.A * x[i]) + ((double)p.B * y[i]);
        }
        t.Write("out", o);
    }

    /// <summary>ILGPU: one thread per element.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) =>
        FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>Hand-written CUDA: kernels/elementwise/axpby.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var flat = new Shape(p.Shape.ElementCount);
        ZtNative.Axpby(backend, p.DType, flat[0], p.A, t["x"].Reshape(flat), p.B, t["y"].Reshape(flat), t["out"].Reshape(flat));
    }

    /// <summary>The kernel: widen, combine in fp32, round once.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<T> output, float a, float b)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        output[i] = codec.Store((a * codec.Load(x[i])) + (b * codec.Load(y[i])));
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<T>, float, float>(Kernel<T, TCodec>));
            kernel(checked((int)p.Shape.ElementCount), backend.View<T>(t["x"]), backend.View<T>(t["y"]), backend.View<T>(t["out"]), p.A, p.B);
        }
    }
}
