// dequantize: y = decode(q) * scale, the inverse of quantize for every scheme.
//
// Layout: q [rows, cols] int8 or fp8_e4m3, scales f32 as quantize writes them ([rows], [1] or
// [row tiles, col tiles]), y [rows, cols] f32/f16/bf16. fp32 product, one rounding. One thread
// per element; the scale is read from L1/L2 (a row's or tile's elements share it). CUDA:
// kernels/quant/dequantize.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Quant.Formats;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant;

/// <summary>Dequantization of INT8 / FP8 E4M3 codes with per-row, per-tensor or per-tile fp32 scales.</summary>
[Op("dequantize", Cases = typeof(DequantizeCases), Summary = "(q int8|fp8_e4m3, fp32 scales) -> y = q * scale, per row, tensor or tile")]
public sealed partial class Dequantize : IOp<Dequantize.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of y.</param>
    /// <param name="Scheme">The scheme the codes were made with.</param>
    /// <param name="Rows">Rows.</param>
    /// <param name="Cols">Columns.</param>
    public readonly record struct Params(DType DType, QuantScheme Scheme, long Rows, long Cols) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{Scheme.Label} [{Rows}, {Cols}] -> {DType.Name()}");
    }

    /// <summary>Dequantizes <paramref name="q"/> with <paramref name="scale"/> into <paramref name="y"/> on their backend.</summary>
    public static void Run(QuantScheme scheme, Tensor q, Tensor scale, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(q);
        ArgumentNullException.ThrowIfNull(y);
        if (q.Rank != 2)
        {
            throw new ArgumentException($"dequantize: q '{q.Name}' {q.Shape} must be [rows, cols]", nameof(q));
        }
        Info.Run(q.Backend, new Params(y.DType, scheme, q.Shape[0], q.Shape[1]), new OpTensors { { "q", q }, { "scale", scale }, { "y", y } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        p.Scheme.Validate();
        var codes = p.Scheme.Format == DType.I8 ? InitSpec.Integers(-127, 127) : InitSpec.Gaussian(0, 60);
        return new OpSignature()
            .In("q", p.Scheme.Format, new Shape(p.Rows, p.Cols), codes)
            .In("scale", DType.F32, p.Scheme.ScaleShape(p.Rows, p.Cols), InitSpec.Uniform(1e-3, 0.1))
            .Out("y", p.DType, new Shape(p.Rows, p.Cols));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Rows * p.Cols;
        return new(n, n * (1 + p.DType.Size()));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var q = binding.Input("q");
        if (q.Rank != 2)
        {
            throw new ArgumentException($"dequantize: q {q.Shape} must be [rows, cols]", "q");
        }
        return new Params(binding.Get(OutDType), QuantSchemes.Bind(binding), q.Shape[0], q.Shape[1]);
    }

    private static OpAttr<DType> OutDType { get; } = OpAttr.DTypeOf("dtype", DType.BF16, "dtype of the output y", DType.F32, DType.F16, DType.BF16);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = QuantSchemes.Attributes.With(OutDType);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => QuantSchemes.Describe(p.Scheme, new()).Set(OutDType, p.DType);

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var q = t.Read("q");
        var scale = t.Read("scale");
        var y = new double[q.Length];
        for (long r = 0; r < p.Rows; r++)
        {
            for (long c = 0; c < p.Cols; c++)
            {
                y[(r * p.Cols) + c] = q[(r * p.Cols) + c] * scale[p.Scheme.ScaleIndex(r, c, p.Cols)];
            }
        }
        t.Write("y", y);
    }

    /// <summary>ILGPU: one thread per element.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/quant/dequantize.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var s = p.Scheme;
        long scales = s.ScaleShape(p.Rows, p.Cols).ElementCount;
        ZtNative.Dequantize(backend, p.DType, s.Format, (int)s.Granularity, p.Rows, p.Cols, s.BlockRows, s.BlockCols, scales,
            t["q"], t["scale"].Reshape(new Shape(scales)), t["y"]);
    }

    /// <summary>The kernel: y[i] = decode(q[i]) * scale[group of i].</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    internal static void Kernel<T, TCodec, TQ, TFormat>(Index1D i, ArrayView<TQ> q, ArrayView<float> scale, ArrayView<T> y, long cols, int granularity, int blockRows, int blockCols)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
        where TQ : unmanaged
        where TFormat : struct, IQuantFormat<TQ>
    {
        long r = i / cols;
        long c = i - (r * cols);
        long k = granularity == (int)QuantGranularity.Row ? r
            : granularity == (int)QuantGranularity.Tensor ? 0
            : ((r / blockRows) * ((cols + blockCols - 1) / blockCols)) + (c / blockCols);
        y[i] = default(TCodec).Store(default(TFormat).Decode(q[i]) * scale[k]);
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            if (p.Scheme.Format == DType.I8)
            {
                Launch<T, TCodec, sbyte, Int8Format>();
            }
            else
            {
                Launch<T, TCodec, byte, Fp8E4M3Format>();
            }
        }

        private void Launch<T, TCodec, TQ, TFormat>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
            where TQ : unmanaged
            where TFormat : struct, IQuantFormat<TQ>
        {
            long n = p.Rows * p.Cols;
            if (n == 0)
            {
                return;
            }
            var kernel = backend.Kernel(Kernel<T, TCodec, TQ, TFormat>, a =>
                a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<TQ>, ArrayView<float>, ArrayView<T>, long, int, int, int>(Kernel<T, TCodec, TQ, TFormat>));
            kernel(checked((int)n), backend.View<TQ>(t["q"]), backend.View<float>(t["scale"]), backend.View<T>(t["y"]), p.Cols,
                (int)p.Scheme.Granularity, p.Scheme.BlockRows, p.Scheme.BlockCols);
        }
    }
}
