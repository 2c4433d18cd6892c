// gated_residual: out = x + gate * y, gate = modulation vector 3c+2 of the token's frame.
//
// Layout: x, y, out [B, F*T, dim] (f32/f16/bf16: the residual stream and a branch's output),
// e0 [B, F, 6, dim] and the block's [1, 6, dim] f32. fp32 math, one rounding. rounding=per-op:
// Self-Forcing/LongLive's `x + y * e[2]` in bf16: g = R(e0 + block), out = R(x + R(y * g)).
// Elementwise: one thread per element. CUDA: kernels/norm/gated_residual.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Norm;

/// <summary>The gated residual update of a DiT block: x + gate * y with a per-frame gate.</summary>
[Op("gated_residual", Cases = typeof(GatedResidualCases), Summary = "out = x + gate * y, gate per latent frame (fp32 math)")]
public sealed partial class GatedResidual : IOp<GatedResidual.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">Type of x, y and out.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Frames">Latent frames F.</param>
    /// <param name="FrameTokens">Tokens per frame T.</param>
    /// <param name="Dim">Hidden size.</param>
    /// <param name="Chunk">0 = self-attention gate (vector 2), 1 = FFN gate (vector 5).</param>
    /// <param name="Rounding">Fused (one rounding) or PerOp (PyTorch's bf16 op boundaries).</param>
    public readonly record struct Params(DType DType, int Batch, int Frames, int FrameTokens, int Dim, int Chunk, Rounding Rounding = Rounding.Fused) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} B={Batch} F={Frames} T={FrameTokens} dim={Dim} chunk={Chunk}{NormRounding.Label(Rounding)}");
    }

    /// <summary>Runs on the backend of <paramref name="x"/>.</summary>
    public static void Run(Tensor x, Tensor y, Tensor modulation, Tensor blockModulation, Tensor output, int chunk, Rounding rounding = Rounding.Fused)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(x, modulation);
        Info.Run(x.Backend, new Params(x.DType, b, f, tk, dim, chunk, rounding),
            new OpTensors { { "x", x }, { "y", y }, { "modulation", modulation }, { "block_modulation", blockModulation }, { "out", output } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        AdaLnModulate.Check(new AdaLnModulate.Params(p.DType, p.Batch, p.Frames, p.FrameTokens, p.Dim, p.Chunk, 0));
        var tokens = ModulationShapes.Tokens(p.Batch, p.Frames, p.FrameTokens, p.Dim);
        return new OpSignature()
            .In("x", p.DType, tokens)
            .In("y", p.DType, tokens)
            .In("modulation", DType.F32, ModulationShapes.E0(p.Batch, p.Frames, p.Dim), ModulationShapes.E0Init)
            .In("block_modulation", DType.F32, ModulationShapes.Block(p.Dim), ModulationShapes.BlockInit)
            .Out("out", p.DType, tokens);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Batch * p.Frames * p.FrameTokens * p.Dim;
        return new(3 * n, 3 * n * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var (b, f, tk, dim) = ModulationShapes.Infer(binding);
        return new Params(binding.Input("x").DType, b, f, tk, dim, binding.Get(ChunkAttr), NormRounding.Get(binding));
    }

    private static OpAttr<int> ChunkAttr { get; } = OpAttr.Int("chunk", 0, "modulation chunk: 0 self-attention (gate 2), 1 FFN (gate 5)", min: 0, max: 1);

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(ChunkAttr, NormRounding.Attr);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new OpAttributeValues().Set(ChunkAttr, p.Chunk).Set(NormRounding.Attr, NormRounding.Name(p.Rounding));

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var y = t.Read("y");
        var e0 = t.Read("modulation");
        var bm = t.Read("block_modulation");
        var o = new double[x.Length];
        for (long i = 0; i < o.Length; i++)
        {
            double gate = ModulationShapes.Vector(e0, bm, p.Frames, p.FrameTokens, p.Dim, i / p.Dim, (int)(i % p.Dim), (3 * p.Chunk) + 2);
            o[i] = NormRounding.GatedSum(p.Rounding, p.DType, x[i], y[i], gate);
        }
        t.Write("out", o);
    }

    /// <summary>ILGPU: one thread per element.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/norm/gated_residual.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.GatedResidual(backend, p.DType, p.Batch, p.Frames, p.FrameTokens, p.Frames * p.FrameTokens, p.Dim, p.Chunk, NormRounding.Abi(p.Rounding),
            t["x"], t["y"], t["modulation"], t["block_modulation"], t["out"]);

    /// <summary>The kernel.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(Index1D i, ArrayView<T> x, ArrayView<T> y, ArrayView<float> e0, ArrayView<float> block, ArrayView<T> output, int frames, int frameTokens, int dim, int chunk, int perOp)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        var mod = new FrameModulation(e0, block, frames, frameTokens, dim);
        float gate = mod.Get(i / dim, i % dim, (3 * chunk) + 2);
        output[i] = codec.Store(NormRounding.GatedSum<T, TCodec>(codec.Load(x[i]), codec.Load(y[i]), gate, perOp));
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, ArrayView<float>, ArrayView<float>, ArrayView<T>, int, int, int, int, int>(Kernel<T, TCodec>));
            kernel(checked((int)t["x"].ElementCount), backend.View<T>(t["x"]), backend.View<T>(t["y"]), backend.View<float>(t["modulation"]),
                backend.View<float>(t["block_modulation"]), backend.View<T>(t["out"]), p.Frames, p.FrameTokens, p.Dim, p.Chunk, NormRounding.Abi(p.Rounding));
        }
    }
}
