// qk_norm_rope: Wan's QK path in one pass: RMSNorm over the full hidden dim with its weight,
// the head split, and 3D RoPE; x [B, N, H*D] in, [B, H, N, D] out (layout=hnd: the layout the
// attention kernels tile) or [B, N, H, D] (layout=nhd: x's order, the streaming engine's KV-cache
// pools, written in place of a frame's token rows), same dtype (f32/f16/bf16). fp32 math, one rounding; the frame offset places a
// block at its absolute frames or at its place in the cache. CUDA: kernels/rope/qk_norm_rope.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Attention.Norm;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>Fused QK RMSNorm (over the full hidden dim) + head split + Wan 3D RoPE.</summary>
[Op("qk_norm_rope", Cases = typeof(QkNormRopeCases), Summary = "RMSNorm over H*D with weight, head split, Wan 3D RoPE: [B,N,H*D] -> [B,H,N,D] (or [B,N,H,D]) in one pass")]
public sealed partial class QkNormRope : IOp<QkNormRope.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">f32, f16 or bf16 (x, weight, out).</param>
    /// <param name="Geometry">Shapes, grid, split, eps.</param>
    public readonly record struct Params(DType DType, QkGeometry Geometry) : IOpParams
    {
        /// <inheritdoc />
        public string Label => $"{DType.Name()} {Geometry.Label}";
    }

    /// <summary>Runs on the backend of <paramref name="x"/>; <paramref name="output"/> is [B, H, N, D], or [B, N, H, D] for <paramref name="layout"/> nhd.</summary>
    public static void Run(Tensor x, Tensor weight, Tensor table, Tensor output, int heads, RopeGrid grid, RopeSplit? split = null, float eps = 1e-6f,
        HeadLayout layout = HeadLayout.Hnd)
    {
        var g = QkGeometry.Of(x, table, heads, grid, split, eps, layout);
        Info.Run(x.Backend, new Params(x.DType, g), new OpTensors { { "x", x }, { "weight", weight }, { "table", table }, { "out", output } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        var g = p.Geometry;
        g.Validate();
        return new OpSignature()
            .In("x", p.DType, g.Input)
            .In("weight", p.DType, new Shape(g.Dim), InitSpec.Gaussian(1, 0.25))
            .In("table", DType.F32, WanRopeTable.Shape(g.HeadDim, g.Positions), WanRopeTable.Init(g.Split, g.Positions))
            .Out("out", p.DType, g.Output);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Geometry.Batch * p.Geometry.Tokens * p.Geometry.Dim;
        return new(9 * n, 2 * n * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding) => new(binding.Input("x").DType, QkBinding.Geometry(binding));

    /// <inheritdoc />
    public static OpAttributes Attributes => QkBinding.Attributes;

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => QkBinding.Describe(p.Geometry);

    /// <summary>The oracle, in double.</summary>
    public static void Reference(Params p, OpTensors t) =>
        t.Write("out", QkNormRopeReference.Compute(p.Geometry, t.Read("x"), t.Read("weight"), t.Read("table")));

    /// <summary>ILGPU: one warp per token.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/rope/qk_norm_rope.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        var g = p.Geometry;
        long rows = (long)g.Batch * g.Heads * g.Tokens;
        ZtNative.QkNormRope(backend, p.DType, (int)g.Layout, g.Batch, checked((int)g.Tokens), g.Heads, g.HeadDim, g.Dim, g.Grid.Frames, g.Grid.Height, g.Grid.Width,
            g.Grid.FrameOffset, g.Split.TimeDims, g.Split.HeightDims, g.Positions, g.HeadDim / 2, g.Eps, rows, t["x"], t["weight"], t["table"], t["out"].Reshape(new Shape(rows, g.HeadDim)));
    }

    /// <summary>The kernel: group = one warp = one token.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(ArrayView<T> x, ArrayView<T> weight, ArrayView<T> output, RopeDevice rope, int heads, int tokens, int headDim, float eps, int nhd)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T> =>
        QkNormRopeDevice.Run<T, TCodec, T, TCodec>(x, weight, output, rope, heads, tokens, headDim, eps, nhd);

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var g = p.Geometry;
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, RopeDevice, int, int, int, float, int>(Kernel<T, TCodec>));
            kernel(NormShapes.RowGrid(g.Batch * g.Tokens), backend.View<T>(t["x"]), backend.View<T>(t["weight"]), backend.View<T>(t["out"]),
                RopeDevice.Of(backend.View<float>(t["table"]), g.Grid, g.Split), g.Heads, checked((int)g.Tokens), g.HeadDim, g.Eps, g.Layout == HeadLayout.Nhd ? 1 : 0);
        }
    }
}
