// adaln_modulate: y = LayerNorm(x) * (1 + scale) + shift, with scale and shift per latent frame.
//
// Layout: x, y [B, F*T, dim] (dtype f32/f16/bf16), e0 [B, F, 6, dim] f32, the block's learned
// modulation [1, 6, dim] f32; chunk 0 uses vectors (0 shift, 1 scale), chunk 1 (3, 4).
// LayerNorm without affine, eps 1e-6, fp32 math (Wan's order: norm, then modulate), one
// rounding. rounding=per-op: Self-Forcing/LongLive's `norm1(x) * (1 + e[1]) + e[0]` with
// e = (modulation + e0).chunk(6), every eager op writing T: v = R(e0 + block) for each vector,
// n = R(LN(x)) (fp32 stats), s = R(1 + v_scale), p = R(n * s), y = R(p + v_shift); no FMA
// across those steps. Kernel: RowNormEngine + ModulateEpilogue; CUDA: kernels/norm/adaln_modulate.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>adaLN modulation of a DiT block: LayerNorm, then per-frame scale and shift.</summary>
[Op("adaln_modulate", Cases = typeof(AdaLnModulateCases), Summary = "y = LN(x) * (1 + scale) + shift with per-latent-frame modulation (fp32 math)")]
public sealed partial class AdaLnModulate : IOp<AdaLnModulate.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x and y.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Frames">Latent frames F.</param>
    /// <param name="FrameTokens">Tokens per frame T (1560 at 480x832).</param>
    /// <param name="Dim">Hidden size.</param>
    /// <param name="Chunk">0 = self-attention vectors, 1 = FFN vectors.</param>
    /// <param name="Eps">LayerNorm epsilon.</param>
    /// <param name="Rounding">Fused (one rounding) or PerOp (PyTorch's bf16 op boundaries).</param>
    public readonly record struct Params(DType DType, int Batch, int Frames, int FrameTokens, int Dim, int Chunk, float Eps, Rounding Rounding = Rounding.Fused) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} B={Batch} F={Frames} T={FrameTokens} dim={Dim} chunk={Chunk}{NormRounding.Label(Rounding)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/>.</summary>
    public static void Run(Tensor x, Tensor modulation, Tensor blockModulation, Tensor y, int chunk, float eps = 1e-6f, Rounding rounding = Rounding.Fused)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(x, modulation);
        Info.Run(x.Backend, new Params(x.DType, b, f, tk, dim, chunk, eps, rounding),
            new OpTensors { { "x", x }, { "modulation", modulation }, { "block_modulation", blockModulation }, { "y", y } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        Check(p);
        var tokens = ModulationShapes.Tokens(p.Batch, p.Frames, p.FrameTokens, p.Dim);
        return new OpSignature()
            .In("x", p.DType, tokens, InitSpec.Gaussian(0.2, 1.5))
            .In("modulation", DType.F32, ModulationShapes.E0(p.Batch, p.Frames, p.Dim), ModulationShapes.E0Init)
            .In("block_modulation", DType.F32, ModulationShapes.Block(p.Dim), ModulationShapes.BlockInit)
            .Out("y", p.DType, tokens);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Batch * p.Frames * p.FrameTokens * p.Dim;
        return new(10 * n, (2 * n * p.DType.Size()) + (4.0 * p.Batch * p.Frames * 6 * p.Dim));
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(binding);
        return new Params(binding.Input("x").DType, b, f, tk, dim, binding.Get(ChunkAttr), binding.Get(EpsAttr), NormRounding.Get(binding));
    }

    private static OpAttr<int> ChunkAttr { get; } = OpAttr.Int("chunk", 0, "modulation chunk: 0 self-attention (shift 0, scale 1), 1 FFN (shift 3, scale 4)", min: 0, max: 1);
    private static OpAttr<float> EpsAttr { get; } = OpAttr.Float("eps", 1e-6f, "epsilon added to the variance", min: 0);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(ChunkAttr, EpsAttr, NormRounding.Attr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(ChunkAttr, p.Chunk).Set(EpsAttr, p.Eps).Set(NormRounding.Attr, NormRounding.Name(p.Rounding));

    /// <summary>The oracle: LayerNorm in double, then the modulation (per-op: rounded to T at each op boundary).</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var y = NormReference.ModulatedLayerNorm(t.Read("x"), t.Read("modulation"), t.Read("block_modulation"), p.Frames, p.FrameTokens, p.Dim, p.Chunk, p.Eps,
            p.Rounding, p.DType);
        t.Write("y", y);
    }

    internal static void Check(Params p)
    {
        if (p.Chunk is not (0 or 1))
        {
            throw new ArgumentException($"modulation chunk {p.Chunk}: 0 (self-attention) or 1 (FFN)", nameof(p));
        }
    }

    /// <summary>ILGPU: the row-norm engine with the modulation epilogue.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/adaln_modulate.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.AdalnModulate(backend, p.DType, p.Batch, p.Frames, p.FrameTokens, p.Frames * p.FrameTokens, p.Dim, p.Chunk, p.Eps,
            NormRounding.Abi(p.Rounding), t["x"], t["modulation"], t["block_modulation"], t["y"]);

    /// <summary>The kernel: group = one warp = one token row.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<float> e0, ArrayView<float> block, ArrayView<T> y, int frames, int frameTokens, int dim, int chunk, float eps, int perOp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        RowNormEngine.Run<T, TCodec, RowSource<T, TCodec>, ModulateEpilogue<T, TCodec>>(
            y, dim, eps, rms: false, new RowSource<T, TCodec>(x, dim), new ModulateEpilogue<T, TCodec>(new FrameModulation(e0, block, frames, frameTokens, dim), chunk, perOp != 0));

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, int, int, int, int, float, int>(Kernel<T, TCodec>));
            kernel(NormShapes.RowGrid((long)p.Batch * p.Frames * p.FrameTokens), backend.View<T>(t["x"]), backend.View<float>(t["modulation"]),
                backend.View<float>(t["block_modulation"]), backend.View<T>(t["y"]), p.Frames, p.FrameTokens, p.Dim, p.Chunk, p.Eps, NormRounding.Abi(p.Rounding));
        }
    }
}
