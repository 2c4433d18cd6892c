// quantize: symmetric quantization of x [rows, cols] (f32/f16/bf16) to INT8 or FP8 E4M3 with
// fp32 scales, per row (token / output channel), per tensor, or per tile (128 x 128).
//
//   scale = max(amax(|x| over the group) / qmax, floor)           IEEE fp32 division
//   q     = clamp(round_half_even(x / scale), -127, 127)           INT8
//         = E4M3(x / scale), nearest even, saturating at 448       FP8
//
// Codes and scales equal the reference bit for bit on every backend (QuantMath, Fp8Math;
// __float2int_rn / __nv_cvt_float_to_fp8 with satfinite and __fdiv_rn in CUDA). Kernels: one
// warp per scale group (a row or a tile): amax pass, scale, encode pass; per tensor: per-row
// amax, one warp reduces them to the scale, then an elementwise encode. CUDA: kernels/quant/quantize.cu.
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Quant.Formats;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant;

/// <summary>Symmetric INT8 / FP8 E4M3 quantization with per-row, per-tensor or per-tile fp32 scales.</summary>
[Op("quantize", Cases = typeof(QuantizeCases), Summary = "x -> (q int8|fp8_e4m3, fp32 scales) per row, tensor or 128x128 tile; bit-exact on every backend")]
public sealed partial class Quantize : IOp<Quantize.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x.</param>
    /// <param name="Scheme">Granularity, format and scale rule.</param>
    /// <param name="Rows">Rows of x.</param>
    /// <param name="Cols">Columns of x.</param>
    public readonly record struct Params(DType DType, QuantScheme Scheme, long Rows, long Cols) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} [{Rows}, {Cols}] -> {Scheme.Label}");
    }

    /// <summary>Quantizes <paramref name="x"/> [rows, cols] into <paramref name="q"/> and <paramref name="scale"/> on their backend.</summary>
    public static void Run(QuantScheme scheme, Tensor x, Tensor q, Tensor scale)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2)
        {
            throw new ArgumentException($"quantize: x '{x.Name}' {x.Shape} must be [rows, cols]", nameof(x));
        }
        Info.Run(x.Backend, new Params(x.DType, scheme, x.Shape[0], x.Shape[1]), new OpTensors { { "x", x }, { "q", q }, { "scale", scale } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        p.Scheme.Validate();
        return new OpSignature()
            .In("x", p.DType, new Shape(p.Rows, p.Cols), InitSpec.Gaussian(0, 3))
            .Out("q", p.Scheme.Format, new Shape(p.Rows, p.Cols), exact: true)
            .Out("scale", DType.F32, p.Scheme.ScaleShape(p.Rows, p.Cols), exact: true);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Rows * p.Cols;
        return new(3 * n, n * (p.DType.Size() + 1));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        if (x.Rank != 2)
        {
            throw new ArgumentException($"quantize: x {x.Shape} must be [rows, cols]", "x");
        }
        return new Params(x.DType, QuantSchemes.Bind(binding), x.Shape[0], x.Shape[1]);
    }

    /// <inheritdoc />
    public static OpAttributes Attributes => QuantSchemes.Attributes;

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => QuantSchemes.Describe(p.Scheme, new());

    /// <summary>The oracle: the scale rule in fp32 (it is part of the format), rounding by Math.Round / MiniFloat.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var s = p.Scheme;
        var shape = s.ScaleShape(p.Rows, p.Cols);
        var amax = new double[shape.ElementCount];
        for (long r = 0; r < p.Rows; r++)
        {
            for (long c = 0; c < p.Cols; c++)
            {
                long k = s.ScaleIndex(r, c, p.Cols);
                amax[k] = Math.Max(amax[k], Math.Abs(x[(r * p.Cols) + c]));
            }
        }
        var scale = amax.Select(a => (double)MathF.Max((float)a / s.QMax, s.Floor)).ToArray();
        var q = new double[x.Length];
        for (long r = 0; r < p.Rows; r++)
        {
            for (long c = 0; c < p.Cols; c++)
            {
                float v = (float)x[(r * p.Cols) + c] / (float)scale[s.ScaleIndex(r, c, p.Cols)];
                q[(r * p.Cols) + c] = s.Format == DType.I8
                    ? Math.Clamp(Math.Round((double)v, MidpointRounding.ToEven), -127, 127)
                    : MiniFloat.E4M3.Decode(MiniFloat.E4M3.Encode(v, saturate: true));
            }
        }
        t.Write("q", q);
        t.Write("scale", scale);
    }

    /// <summary>ILGPU: one warp per scale group; per tensor in three steps.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/quant/quantize.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var s = p.Scheme;
        var scaleShape = s.ScaleShape(p.Rows, p.Cols);
        long workspaceRows = Math.Max(1, p.Rows);
        using var partial = backend.Workspaces.Rent(DType.F32, new Shape(workspaceRows), "row_amax");
        ZtNative.Quantize(backend, p.DType, s.Format, (int)s.Granularity, p.Rows, p.Cols, s.BlockRows, s.BlockCols, s.QMax, s.Floor,
            scaleShape.ElementCount, workspaceRows, t["x"], t["q"], t["scale"].Reshape(new Shape(scaleShape.ElementCount)), partial);
    }

    /// <summary>One warp per scale group (a row: 1 x cols; a tile): amax, scale, encode.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    internal static void GroupKernel<T, TCodec, TQ, TFormat>(ArrayView<T> x, ArrayView<TQ> q, ArrayView<float> scales, long rows, long cols, int groupRows, long groupCols, float qmax, float floor)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
        where TQ : unmanaged
        where TFormat : struct, IQuantFormat<TQ>
    {
        TCodec codec = default;
        TFormat format = default;
        long g = Grid.IdxX;
        int lane = Group.IdxX;
        long groupsPerRow = (cols + groupCols - 1) / groupCols;
        long r0 = g / groupsPerRow * groupRows;
        long c0 = (g % groupsPerRow) * groupCols;
        long nr = XMath.Min(groupRows, rows - r0);
        long nc = XMath.Min(groupCols, cols - c0);
        float amax = 0f;
        for (long e = lane; e < nr * nc; e += 32)
        {
            amax = XMath.Max(amax, XMath.Abs(codec.Load(x[((r0 + (e / nc)) * cols) + c0 + (e % nc)])));
        }
        float scale = QuantMath.Scale(WarpReduce.Max(amax), qmax, floor);
        if (lane == 0)
        {
            scales[g] = scale;
        }
        for (long e = lane; e < nr * nc; e += 32)
        {
            long i = ((r0 + (e / nc)) * cols) + c0 + (e % nc);
            q[i] = format.Encode(codec.Load(x[i]) / scale);
        }
    }

    /// <summary>Per tensor, step 1: |x| max of each row (one warp per row).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void RowAmaxKernel<T, TCodec>(ArrayView<T> x, ArrayView<float> rowAmax, long cols)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        long r = Grid.IdxX;
        float amax = 0f;
        for (long c = Group.IdxX; c < cols; c += 32)
        {
            amax = XMath.Max(amax, XMath.Abs(codec.Load(x[(r * cols) + c])));
        }
        amax = WarpReduce.Max(amax);
        if (Group.IdxX == 0)
        {
            rowAmax[r] = amax;
        }
    }

    /// <summary>Per tensor, step 2: one warp folds the row maxima into the scale.</summary>
    [IlgpuKernel]
    internal static void TensorScaleKernel(ArrayView<float> rowAmax, ArrayView<float> scale, long rows, float qmax, float floor)
    {
        float amax = 0f;
        for (long r = Group.IdxX; r < rows; r += 32)
        {
            amax = XMath.Max(amax, rowAmax[r]);
        }
        float s = QuantMath.Scale(WarpReduce.Max(amax), qmax, floor);
        if (Group.IdxX == 0)
        {
            scale[0] = s;
        }
    }

    /// <summary>Per tensor, step 3: encode every element with the one scale.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(sbyte), typeof(Int8Format))]
    [IlgpuKernel(typeof(float), typeof(F32Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec), typeof(byte), typeof(Fp8E4M3Format))]
    internal static void EncodeKernel<T, TCodec, TQ, TFormat>(Index1D i, ArrayView<T> x, ArrayView<TQ> q, ArrayView<float> scale)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
        where TQ : unmanaged
        where TFormat : struct, IQuantFormat<TQ> =>
        q[i] = default(TFormat).Encode(default(TCodec).Load(x[i]) / scale[0]);

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
            var s = p.Scheme;
            var x = backend.View<T>(t["x"]);
            var q = backend.View<TQ>(t["q"]);
            var scale = backend.View<float>(t["scale"]);
            if (p.Rows == 0 || p.Cols == 0)
            {
                return;
            }
            if (s.Granularity == QuantGranularity.Tensor)
            {
                using var rowAmax = backend.Workspaces.Rent(DType.F32, new Shape(p.Rows), "row_amax");
                var amax = backend.View<float>(rowAmax);
                var k1 = backend.Kernel(RowAmaxKernel<T, TCodec>, a => a.LoadStreamKernel<ArrayView<T>, ArrayView<float>, long>(RowAmaxKernel<T, TCodec>));
                k1(QuantGrid.Warps(p.Rows), x, amax, p.Cols);
                var k2 = backend.Kernel(TensorScaleKernel, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, long, float, float>(TensorScaleKernel));
                k2(QuantGrid.Warps(1), amax, scale, p.Rows, s.QMax, s.Floor);
                var k3 = backend.Kernel(EncodeKernel<T, TCodec, TQ, TFormat>, a =>
                    a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<TQ>, ArrayView<float>>(EncodeKernel<T, TCodec, TQ, TFormat>));
                k3(checked((int)(p.Rows * p.Cols)), x, q, scale);
                backend.Synchronize();
                return;
            }
            int groupRows = s.Granularity == QuantGranularity.Row ? 1 : s.BlockRows;
            long groupCols = s.Granularity == QuantGranularity.Row ? p.Cols : s.BlockCols;
            var kernel = backend.Kernel(GroupKernel<T, TCodec, TQ, TFormat>, a =>
                a.LoadStreamKernel<ArrayView<T>, ArrayView<TQ>, ArrayView<float>, long, long, int, long, float, float>(GroupKernel<T, TCodec, TQ, TFormat>));
            kernel(QuantGrid.Warps(s.ScaleShape(p.Rows, p.Cols).ElementCount), x, q, scale, p.Rows, p.Cols, groupRows, groupCols, s.QMax, s.Floor);
        }
    }
}
