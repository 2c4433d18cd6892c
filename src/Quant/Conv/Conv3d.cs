// conv3d: a 3-D convolution over channel-last frames, stride 1, as the video decoders use it:
//   time padded on the past side only (causal: the output frame t sees input frames t-Kt+1..t),
//   space padded "same" with zeros, an optional nearest x2 spatial upsampling folded into the
//   input indexing (nn.Upsample then the conv, without the upsampled tensor ever existing), an
//   optional time shuffle of the output channels into frames (Wan's temporal upsampling and
//   TAEHV's TGrow: channel group j of frame t becomes frame t*S + j), then bias, residual, act.
// A 2-D convolution over frames is Kt = 1 (the frames are the batch).
//
// Layout: x [T, H, W, Cin]; weight [Cout, Kt, Kh, Kw, Cin] (PyTorch's [Cout, Cin, Kt, Kh, Kw]
// permuted once at load, so the reduction axis is contiguous as in linear's W [N, K]); bias f32
// [Cout]; residual and y [To*S, H*U, W*U, Cout/S] with To = T + TimePad - Kt + 1. One dtype for
// x, weight, residual and y (f32/f16/bf16). As an implicit GEMM: M = To*Ho*Wo output pixels,
// N = Cout, K = Kt*Kh*Kw*Cin; an A element is x at (to + dt - TimePad, (oh + dh - Kh/2) / U,
// (ow + dw - Kw/2) / U, ci), zero outside the input. Precision: fp32 accumulation, fp32
// epilogue (acc + bias + residual, then the activation), one rounding to y's dtype.
// ILGPU: ConvTiles (TiledGemm's 64x64 tiles and double-buffered stages, A gathered); CUDA:
// kernels/conv/conv3d.cu (tensor cores for f16/bf16 with cp.async gathers, SIMT for f32).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Quant.Gemm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Conv;

/// <summary>Causal-in-time, same-in-space 3-D convolution over channel-last frames (implicit GEMM).</summary>
[Op("conv3d", Cases = typeof(Conv3dCases), Summary = "causal 3-D conv over [T, H, W, C] frames: nearest x2 upsample folded in, time shuffle, bias + residual + act epilogue (fp32 accumulation)")]
public sealed partial class Conv3d : IOp<Conv3d.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x, weight, residual and y (f32/f16/bf16).</param>
    /// <param name="T">Input frames.</param>
    /// <param name="H">Input height.</param>
    /// <param name="W">Input width.</param>
    /// <param name="Cin">Input channels.</param>
    /// <param name="Cout">Output channels of the convolution (before the time shuffle).</param>
    /// <param name="Kt">Kernel extent in time.</param>
    /// <param name="Kh">Kernel height (odd).</param>
    /// <param name="Kw">Kernel width (odd).</param>
    /// <param name="TimePad">Zero frames before the first input frame (Kt - 1 for a causal conv over a whole clip; 0 when the caller puts cached frames there).</param>
    /// <param name="Upsample">1, or 2 for a nearest x2 spatial upsampling of x before the convolution.</param>
    /// <param name="TimeShuffle">S: output channel group j (of Cout/S) of frame t is written as frame t*S + j.</param>
    /// <param name="HasBias">Whether an f32 bias [Cout] is added.</param>
    /// <param name="HasResidual">Whether a residual (y's shape) is added before the activation.</param>
    /// <param name="Act">The activation after bias and residual.</param>
    public readonly record struct Params(DType DType, int T, int H, int W, int Cin, int Cout, int Kt, int Kh, int Kw,
        int TimePad, int Upsample = 1, int TimeShuffle = 1, bool HasBias = false, bool HasResidual = false, ConvActivation Act = ConvActivation.None) : IOpParams
    {
        /// <summary>Output frames of the convolution (before the time shuffle).</summary>
        public int To => T + TimePad - Kt + 1;

        /// <summary>Output height.</summary>
        public int Ho => H * Upsample;

        /// <summary>Output width.</summary>
        public int Wo => W * Upsample;

        /// <summary>Channels of y (Cout / TimeShuffle).</summary>
        public int OutChannels => Cout / TimeShuffle;

        /// <summary>Frames of y (To * TimeShuffle).</summary>
        public int OutFrames => To * TimeShuffle;

        /// <summary>The GEMM's reduction length, Kt*Kh*Kw*Cin.</summary>
        public long K => (long)Kt * Kh * Kw * Cin;

        /// <summary>The GEMM's rows, To*Ho*Wo.</summary>
        public long M => (long)To * Ho * Wo;

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} x[{T},{H},{W},{Cin}] k{Kt}x{Kh}x{Kw} ->{Cout} tpad={TimePad}{(Upsample > 1 ? " up2" : string.Empty)}{(TimeShuffle > 1 ? $" tshuffle={TimeShuffle}" : string.Empty)}{(HasBias ? " bias" : string.Empty)}{(HasResidual ? " residual" : string.Empty)}{(Act != ConvActivation.None ? $" {ConvShapes.ActName(Act)}" : string.Empty)}");
    }

    /// <summary>
    /// Runs on the backend of <paramref name="x"/>. <paramref name="timePad"/> &lt; 0 means causal (Kt - 1).
    /// </summary>
    public static void Run(Tensor x, Tensor weight, Tensor? bias, Tensor? residual, Tensor y, int timePad = -1, int upsample = 1, int timeShuffle = 1,
        ConvActivation act = ConvActivation.None)
    {
        var p = ConvShapes.Of(x, weight, bias is not null, residual is not null, timePad, upsample, timeShuffle, act);
        ConvShapes.Expect("y", y, p.DType, ConvShapes.OutShape(p));
        var t = new OpTensors { { "x", x }, { "weight", weight }, { "y", y } };
        if (bias is not null)
        {
            ConvShapes.Expect("bias", bias, DType.F32, new Shape(p.Cout));
            t.Add("bias", bias);
        }
        if (residual is not null)
        {
            ConvShapes.Expect("residual", residual, p.DType, ConvShapes.OutShape(p));
            t.Add("residual", residual);
        }
        Info.Run(x.Backend, p, t);
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var s = new OpSignature()
            .In("x", p.DType, new Shape(p.T, p.H, p.W, p.Cin))
            .In("weight", p.DType, new Shape(p.Cout, p.Kt, p.Kh, p.Kw, p.Cin), InitSpec.Gaussian(0, 1 / Math.Sqrt(Math.Max(1, p.K))));
        if (p.HasBias)
        {
            s.In("bias", DType.F32, new Shape(p.Cout), InitSpec.Gaussian(0, 0.5));
        }
        if (p.HasResidual)
        {
            s.In("residual", p.DType, ConvShapes.OutShape(p));
        }
        return s.Out("y", p.DType, ConvShapes.OutShape(p));
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double outputs = (double)p.M * p.Cout;
        double elements = ((double)p.T * p.H * p.W * p.Cin) + ((double)p.Cout * p.K) + (outputs * (p.HasResidual ? 2 : 1));
        return new(2.0 * outputs * p.K, elements * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding) =>
        ConvShapes.Of(binding.Input("x"), binding.Input("weight"), binding.Has("bias"), binding.Has("residual"),
            binding.Get(ConvShapes.TimePadAttr), binding.Get(ConvShapes.UpsampleAttr), binding.Get(ConvShapes.TimeShuffleAttr), ConvShapes.ParseAct(binding.Get(ConvShapes.ActAttr)));

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(ConvShapes.TimePadAttr, ConvShapes.UpsampleAttr, ConvShapes.TimeShuffleAttr, ConvShapes.ActAttr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues()
        .Set(ConvShapes.TimePadAttr, p.TimePad)
        .Set(ConvShapes.UpsampleAttr, p.Upsample)
        .Set(ConvShapes.TimeShuffleAttr, p.TimeShuffle)
        .Set(ConvShapes.ActAttr, ConvShapes.ActName(p.Act));

    /// <summary>The oracle: the convolution's definition in double, loop by loop.</summary>
    public static void Reference(Params p, OpTensors t) =>
        t.Write("y", ConvReference.Compute(p, t.Read("x"), t.Read("weight"), p.HasBias ? t.Read("bias") : null, p.HasResidual ? t.Read("residual") : null));

    /// <summary>ILGPU: the shared-memory implicit GEMM (<see cref="ConvTiles"/>).</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/conv/conv3d.cu (zt_conv3d).</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var y = ConvShapes.OutShape(p);
        ZtNative.Conv3d(backend, p.DType, p.T, p.H, p.W, p.Cin, p.Cout, p.Kt, p.Kh, p.Kw, p.TimePad, p.Upsample, p.TimeShuffle, (int)p.Act,
            checked((int)y[0]), checked((int)y[1]), checked((int)y[2]), checked((int)y[3]),
            t["x"], t["weight"], p.HasBias ? t["bias"] : null, p.HasResidual ? t["residual"] : null, t["y"]);
    }

    /// <summary>The kernel: a 16x16 group computes a 64x64 tile of the implicit GEMM (64 output pixels x 64 channels).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> w, ArrayView<T> residual, ArrayView<T> y, ConvGeometry g, ConvEpilogue epilogue)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        var smem = SharedMemory.Allocate<float>(TiledGemm.SharedWords);
        long m0 = (long)Grid.IdxX * TiledGemm.TileM;
        long n0 = (long)Grid.IdxY * TiledGemm.TileN;
        var acc = default(Tile4x4);
        ConvTiles.Accumulate<T, TCodec>(x, w, smem, g, m0, n0, ref acc);
        ConvTiles.Store<T, TCodec>(y, residual, epilogue, g, acc, m0, n0);
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, a =>
                a.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ConvGeometry, ConvEpilogue>(Kernel<T, TCodec>));
            var bias = p.HasBias ? backend.View<float>(t["bias"]) : ArrayView<float>.Empty;
            var residual = p.HasResidual ? backend.View<T>(t["residual"]) : ArrayView<T>.Empty;
            var ep = new ConvEpilogue(bias, p.HasBias ? 1 : 0, p.HasResidual ? 1 : 0, (int)p.Act);
            var grid = new Index2D(checked((int)((p.M + TiledGemm.TileM - 1) / TiledGemm.TileM)), (p.Cout + TiledGemm.TileN - 1) / TiledGemm.TileN);
            kernel(new KernelConfig(grid, new Index2D(TiledGemm.Threads, TiledGemm.Threads)), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), residual,
                backend.View<T>(t["y"]), new ConvGeometry(p), ep);
        }
    }
}
