// channel_rms_norm: the video VAE's RMS_norm over the channels of channel-last pixels, with the
// SiLU that follows it in every residual block fused:
//   y = act(x / max(||x||_2, eps) * sqrt(C) * gamma + bias)
// (F.normalize(x, dim=channels) * C^0.5 * gamma + bias, as Wan2.1's vae.py; eps = 1e-12 on the
// norm, not on the mean square as rms_norm, so an all-zero pixel gives bias, not NaN).
//
// Layout: x, y [rows, C] (a pixel per row: [T, H, W, C] frames flattened), gamma [C], bias [C]
// (optional), one dtype (f32/f16/bf16). Precision: fp32 math, one rounding of the output.
//
// Kernels: not RowNormEngine, whose rstd is 1/sqrt(mean + eps): F.normalize bounds the norm
// itself, max(||x||, eps), which no epilogue can recover once the engine has added eps (a pixel
// with 0 < ||x|| < eps would come out at unit RMS instead of scaled by 1/eps, an all-zero one NaN).
// ILGPU: one warp per pixel (below). CUDA: kernels/norm/channel_rms_norm.cu, a lane group sized
// to C per pixel (VAE channel counts are 96..384, a quarter of a DiT row, so a warp per pixel
// would leave most lanes idle).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>Channel RMS norm (F.normalize * sqrt(C) * gamma + bias) with an optional fused SiLU.</summary>
[Op("channel_rms_norm", Cases = typeof(ChannelRmsNormCases), Summary = "y = act(x / max(||x||, eps) * sqrt(C) * gamma + bias) per pixel (the VAE's RMS_norm, SiLU fused)")]
public sealed partial class ChannelRmsNorm : IOp<ChannelRmsNorm.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">f32, f16 or bf16 (x, gamma, bias, y).</param>
    /// <param name="Rows">Pixels.</param>
    /// <param name="Channels">Channels per pixel.</param>
    /// <param name="Eps">Lower bound of the L2 norm.</param>
    /// <param name="HasBias">Whether a bias [C] is added.</param>
    /// <param name="Silu">Whether SiLU follows.</param>
    public readonly record struct Params(DType DType, long Rows, int Channels, float Eps = 1e-12f, bool HasBias = false, bool Silu = false) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} [{Rows}, {Channels}] eps={Eps}{(HasBias ? " bias" : string.Empty)}{(Silu ? " silu" : string.Empty)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/> (any shape whose last extent is C).</summary>
    public static void Run(Tensor x, Tensor gamma, Tensor? bias, Tensor y, bool silu, float eps = 1e-12f)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (rows, dim) = NormShapes.Rows(x);
        var t = new OpTensors { { "x", NormShapes.AsRows(x, rows, dim) }, { "gamma", gamma }, { "y", NormShapes.AsRows(y, rows, dim) } };
        if (bias is not null)
        {
            t.Add("bias", bias);
        }
        Info.Run(x.Backend, new Params(x.DType, rows, dim, eps, bias is not null, silu), t);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature()
            .In("x", p.DType, new Shape(p.Rows, p.Channels))
            .In("gamma", p.DType, new Shape(p.Channels), InitSpec.Gaussian(1, 0.25));
        if (p.HasBias)
        {
            s.In("bias", p.DType, new Shape(p.Channels), InitSpec.Gaussian(0, 0.25));
        }
        return s.Out("y", p.DType, new Shape(p.Rows, p.Channels));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new((p.Silu ? 8.0 : 4.0) * p.Rows * p.Channels, ((2.0 * p.Rows * p.Channels) + (p.HasBias ? 2 : 1) * p.Channels) * p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        var (rows, dim) = NormShapes.Rows(x);
        return new Params(x.DType, rows, dim, binding.Get(EpsAttr), binding.Has("bias"), binding.Get(ActAttr) == "silu");
    }

    private static OpAttr<float> EpsAttr { get; } = OpAttr.Float("eps", 1e-12f, "lower bound of the L2 norm (F.normalize's eps)", min: 0);

    private static OpAttr<string> ActAttr { get; } = OpAttr.Choice("act", "none", "activation after the affine", "none", "silu");

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(EpsAttr, ActAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(EpsAttr, p.Eps).Set(ActAttr, p.Silu ? "silu" : "none");

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var g = t.Read("gamma");
        var b = p.HasBias ? t.Read("bias") : null;
        var y = new double[x.Length];
        double scale = Math.Sqrt(p.Channels);
        for (long r = 0; r < p.Rows; r++)
        {
            long o = r * p.Channels;
            double ss = 0;
            for (int c = 0; c < p.Channels; c++)
            {
                ss += x[o + c] * x[o + c];
            }
            double inv = scale / Math.Max(Math.Sqrt(ss), p.Eps);
            for (int c = 0; c < p.Channels; c++)
            {
                double v = (x[o + c] * inv * g[c]) + (b is null ? 0 : b[c]);
                y[o + c] = p.Silu ? v / (1 + Math.Exp(-v)) : v;
            }
        }
        t.Write("y", y);
    }

    /// <summary>ILGPU: one warp per pixel.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/channel_rms_norm.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.ChannelRmsNorm(backend, p.DType, p.Rows, p.Channels, p.Eps, p.Silu ? 1 : 0, t["x"], t["gamma"], p.HasBias ? t["bias"] : null, t["y"]);

    /// <summary>
    /// The kernel: group = one warp = one pixel, lanes striding over its channels; the pixel is
    /// read twice (sum of squares, output), the second time from L1. Without bias, bias is an
    /// unused stand-in (ILGPU views cannot be null).
    /// </summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> gamma, ArrayView<T> bias, ArrayView<T> y, int channels, float eps, int hasBias, int silu)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        long start = (long)Grid.IdxX * channels;
        int lane = Group.IdxX;
        float sq = 0f;
        for (int c = lane; c < channels; c += RowNormEngine.Lanes)
        {
            float v = codec.Load(x[start + c]);
            sq += v * v;
        }
        float scale = XMath.Sqrt((float)channels) / XMath.Max(XMath.Sqrt(WarpReduce.Sum(sq)), eps);
        for (int c = lane; c < channels; c += RowNormEngine.Lanes)
        {
            float v = (codec.Load(x[start + c]) * scale * codec.Load(gamma[c])) + (hasBias != 0 ? codec.Load(bias[c]) : 0f);
            y[start + c] = codec.Store(silu != 0 ? v / (1f + XMath.Exp(-v)) : v);
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, float, int, int>(Kernel<T, TCodec>));
            var gamma = backend.View<T>(t["gamma"]);
            kernel(NormShapes.RowGrid(p.Rows), backend.View<T>(t["x"]), gamma, p.HasBias ? backend.View<T>(t["bias"]) : gamma, backend.View<T>(t["y"]),
                p.Channels, p.Eps, p.HasBias ? 1 : 0, p.Silu ? 1 : 0);
        }
    }
}
