// gated_residual_adaln: the two steps a DiT runs back to back at a block boundary, fused:
//   x_out = x + gate * y                       (gate: vector 3g+2 of e0 + this block's parameter)
//   h     = LN(x_out) * (1 + scale) + shift    (vectors 3m, 3m+1 of e0 + the next block's parameter)
// e.g. the FFN residual of block i (g = 1) into block i+1's self-attention modulation (m = 0).
// One kernel reads x, y and the modulation and writes x_out and h: the residual stream is never
// read back. Layout as adaln_modulate; fp32 math, statistics from the unrounded x_out.
// rounding=per-op: gated_residual's and adaln_modulate's per-op roundings, the statistics then
// from the rounded x_out (PyTorch's LayerNorm reads the stored bf16 residual).
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>Gated residual update fused with the next adaLN modulation.</summary>
[Op("gated_residual_adaln", Cases = typeof(GatedResidualAdaLnCases), Summary = "x_out = x + gate*y; h = LN(x_out)*(1+scale)+shift, fused (fp32 math)")]
public sealed partial class GatedResidualAdaLn : IOp<GatedResidualAdaLn.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x, y, x_out and h.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Frames">Latent frames F.</param>
    /// <param name="FrameTokens">Tokens per frame T.</param>
    /// <param name="Dim">Hidden size.</param>
    /// <param name="GateChunk">Chunk of the gate (0 or 1).</param>
    /// <param name="NormChunk">Chunk of the next modulation (0 or 1).</param>
    /// <param name="Eps">LayerNorm epsilon.</param>
    /// <param name="Rounding">Fused (one rounding per output) or PerOp (PyTorch's bf16 op boundaries).</param>
    public readonly record struct Params(DType DType, int Batch, int Frames, int FrameTokens, int Dim, int GateChunk, int NormChunk, float Eps, Rounding Rounding = Rounding.Fused) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} B={Batch} F={Frames} T={FrameTokens} dim={Dim} gate={GateChunk} norm={NormChunk}{NormRounding.Label(Rounding)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/>.</summary>
    public static void Run(Tensor x, Tensor y, Tensor modulation, Tensor gateModulation, Tensor normModulation, Tensor xOut, Tensor h, int gateChunk, int normChunk, float eps = 1e-6f,
        Rounding rounding = Rounding.Fused)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(x, modulation);
        Info.Run(x.Backend, new Params(x.DType, b, f, tk, dim, gateChunk, normChunk, eps, rounding), new OpTensors
        {
            { "x", x }, { "y", y }, { "modulation", modulation }, { "gate_modulation", gateModulation },
            { "norm_modulation", normModulation }, { "x_out", xOut }, { "h", h },
        });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        AdaLnModulate.Check(new AdaLnModulate.Params(p.DType, p.Batch, p.Frames, p.FrameTokens, p.Dim, p.GateChunk, 0));
        AdaLnModulate.Check(new AdaLnModulate.Params(p.DType, p.Batch, p.Frames, p.FrameTokens, p.Dim, p.NormChunk, 0));
        var tokens = ModulationShapes.Tokens(p.Batch, p.Frames, p.FrameTokens, p.Dim);
        return new OpSignature()
            .In("x", p.DType, tokens)
            .In("y", p.DType, tokens)
            .In("modulation", DType.F32, ModulationShapes.E0(p.Batch, p.Frames, p.Dim), ModulationShapes.E0Init)
            .In("gate_modulation", DType.F32, ModulationShapes.Block(p.Dim), ModulationShapes.BlockInit)
            .In("norm_modulation", DType.F32, ModulationShapes.Block(p.Dim), ModulationShapes.BlockInit)
            .Out("x_out", p.DType, tokens)
            .Out("h", p.DType, tokens);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Batch * p.Frames * p.FrameTokens * p.Dim;
        return new(13 * n, 4 * n * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(binding);
        return new Params(binding.Input("x").DType, b, f, tk, dim, binding.Get(GateChunkAttr), binding.Get(NormChunkAttr), binding.Get(EpsAttr), NormRounding.Get(binding));
    }

    private static OpAttr<int> GateChunkAttr { get; } = OpAttr.Int("gate_chunk", 1, "modulation chunk of the gate: 0 self-attention (gate 2), 1 FFN (gate 5)", min: 0, max: 1);

    private static OpAttr<int> NormChunkAttr { get; } = OpAttr.Int("norm_chunk", 0, "modulation chunk of the following adaLN: 0 (shift 0, scale 1) or 1 (shift 3, scale 4)", min: 0, max: 1);
    private static OpAttr<float> EpsAttr { get; } = OpAttr.Float("eps", 1e-6f, "epsilon added to the variance", min: 0);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(GateChunkAttr, NormChunkAttr, EpsAttr, NormRounding.Attr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(GateChunkAttr, p.GateChunk).Set(NormChunkAttr, p.NormChunk).Set(EpsAttr, p.Eps).Set(NormRounding.Attr, NormRounding.Name(p.Rounding));

    /// <summary>The oracle, in double: the residual, then adaLN of it.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var y = t.Read("y");
        var e0 = t.Read("modulation");
        var gm = t.Read("gate_modulation");
        var nm = t.Read("norm_modulation");
        var xo = new double[x.Length];
        for (long i = 0; i < xo.Length; i++)
        {
            double gate = ModulationShapes.Vector(e0, gm, p.Frames, p.FrameTokens, p.Dim, i / p.Dim, (int)(i % p.Dim), (3 * p.GateChunk) + 2);
            xo[i] = NormRounding.GatedSum(p.Rounding, p.DType, x[i], y[i], gate);
        }
        var h = NormReference.ModulatedLayerNorm(xo, e0, nm, p.Frames, p.FrameTokens, p.Dim, p.NormChunk, p.Eps, p.Rounding, p.DType);
        t.Write("x_out", xo);
        t.Write("h", h);
    }

    /// <summary>ILGPU: the row-norm engine with a residual source and the modulation epilogue.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/gated_residual_adaln.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.GatedResidualAdaln(backend, p.DType, p.Batch, p.Frames, p.FrameTokens, p.Frames * p.FrameTokens, p.Dim, p.GateChunk, p.NormChunk, p.Eps,
            NormRounding.Abi(p.Rounding), t["x"], t["y"], t["modulation"], t["gate_modulation"], t["norm_modulation"], t["x_out"], t["h"]);

    /// <summary>The kernel: group = one warp = one token row.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> y, ArrayView<float> e0, ArrayView<float> gateBlock, ArrayView<float> normBlock,
        ArrayView<T> xOut, ArrayView<T> h, int frames, int frameTokens, int dim, int gateChunk, int normChunk, float eps, int perOp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        RowNormEngine.Run<T, TCodec, ResidualSource<T, TCodec>, ModulateEpilogue<T, TCodec>>(
            h, dim, eps, rms: false,
            new ResidualSource<T, TCodec>(x, y, xOut, new FrameModulation(e0, gateBlock, frames, frameTokens, dim), gateChunk, dim, perOp != 0),
            new ModulateEpilogue<T, TCodec>(new FrameModulation(e0, normBlock, frames, frameTokens, dim), normChunk, perOp != 0));

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc => acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
                ArrayView<T>, ArrayView<T>, int, int, int, int, int, float, int>(Kernel<T, TCodec>));
            kernel(NormShapes.RowGrid((long)p.Batch * p.Frames * p.FrameTokens), backend.View<T>(t["x"]), backend.View<T>(t["y"]),
                backend.View<float>(t["modulation"]), backend.View<float>(t["gate_modulation"]), backend.View<float>(t["norm_modulation"]),
                backend.View<T>(t["x_out"]), backend.View<T>(t["h"]), p.Frames, p.FrameTokens, p.Dim, p.GateChunk, p.NormChunk, p.Eps, NormRounding.Abi(p.Rounding));
        }
    }
}
