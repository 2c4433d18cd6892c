// rope_apply: Wan's 3D RoPE on a per-head tensor: each (x[2j], x[2j+1]) pair of a head is rotated
// by the angle of its axis's coordinate (frame + offset, row, column) from the f32 table.
//
// Layout: x, out [B, H, N, D] (HND) or [B, N, H, D] (NHD), contiguous, f32/f16/bf16; table
// [positions, D/2, 2] f32 (WanRopeTable). fp32 math, one rounding. Use: re-rotating cached K
// under the cache-relative policy (K stored unrotated, rotated by its place in the cache on
// read). One thread per pair. CUDA: kernels/rope/rope_apply.cu.
using ILGPU;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention.Rope;

/// <summary>Wan 3D RoPE applied to a per-head tensor.</summary>
[Op("rope_apply", Cases = typeof(RopeApplyCases), Summary = "Wan 3D RoPE (time/height/width pairs) on [B,H,N,D] or [B,N,H,D] (fp32 math)")]
public sealed partial class RopeApply : IOp<RopeApply.Params>
{
    /// <summary>Parameters.</summary>
    /// <param name="DType">f32, f16 or bf16.</param>
    /// <param name="Batch">B.</param>
    /// <param name="Heads">H.</param>
    /// <param name="HeadDim">D.</param>
    /// <param name="Layout">HND or NHD.</param>
    /// <param name="Grid">Token grid and frame offset (N = frames * height * width).</param>
    /// <param name="Split">Dims per axis.</param>
    /// <param name="Positions">Rows of the table.</param>
    public readonly record struct Params(DType DType, int Batch, int Heads, int HeadDim, HeadLayout Layout, RopeGrid Grid, RopeSplit Split, int Positions) : IOpParams
    {
        /// <summary>Tokens N.</summary>
        public long Tokens => Grid.Tokens;

        /// <inheritdoc />
        public string Label => FormattableString.Invariant(
            $"{DType.Name()} {Layout} B={Batch} H={Heads} N={Grid.Frames}x{Grid.Height}x{Grid.Width}+{Grid.FrameOffset} D={HeadDim} split={Split}");

        /// <summary>Shape of x and out.</summary>
        public Shape Shape => Layout == HeadLayout.Hnd ? new(Batch, Heads, Tokens, HeadDim) : new(Batch, Tokens, Heads, HeadDim);
    }

    /// <summary>Rotates <paramref name="x"/> into <paramref name="output"/> on their backend (shapes per <paramref name="layout"/>).</summary>
    public static void Run(Tensor x, Tensor table, Tensor output, HeadLayout layout, RopeGrid grid, RopeSplit? split = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(table);
        if (x.Rank != 4 || table.Rank != 3)
        {
            throw new ArgumentException($"rope_apply: x '{x.Name}' {x.Shape} must be rank 4 and table '{table.Name}' {table.Shape} rank 3", nameof(x));
        }
        int heads = (int)(layout == HeadLayout.Hnd ? x.Shape[1] : x.Shape[2]);
        int d = (int)x.Shape[3];
        Info.Run(x.Backend, new Params(x.DType, (int)x.Shape[0], heads, d, layout, grid, split ?? RopeSplit.Wan(d), (int)table.Shape[0]),
            new OpTensors { { "x", x }, { "table", table }, { "out", output } });
    }

    /// <inheritdoc />
    public static OpSignature Signature(Params p)
    {
        p.Split.Validate(p.HeadDim);
        p.Grid.Validate(p.Tokens, p.Positions);
        return new OpSignature()
            .In("x", p.DType, p.Shape)
            .In("table", DType.F32, WanRopeTable.Shape(p.HeadDim, p.Positions), WanRopeTable.Init(p.Split, p.Positions))
            .Out("out", p.DType, p.Shape);
    }

    /// <inheritdoc />
    public static OpCost Cost(Params p)
    {
        double n = (double)p.Batch * p.Heads * p.Tokens * p.HeadDim;
        return new(3 * n, 2 * n * p.DType.Size());
    }

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        var table = binding.Input("table");
        var layout = binding.Get(Flash.AttentionGeometry.LayoutAttr) == "nhd" ? HeadLayout.Nhd : HeadLayout.Hnd;
        if (x.Rank != 4 || table.Rank != 3)
        {
            throw new ArgumentException($"rope_apply: x {x.Shape} must be [B,H,N,D] or [B,N,H,D] and table {table.Shape} [positions, D/2, 2]", "x");
        }
        var grid = QkBinding.Grid(binding);
        int d = (int)x.Shape[3];
        return new Params(x.DType, (int)x.Shape[0], (int)(layout == HeadLayout.Hnd ? x.Shape[1] : x.Shape[2]), d, layout, grid, RopeSplit.Wan(d), (int)table.Shape[0]);
    }

    /// <inheritdoc />
    public static OpAttributes Attributes { get; } = OpAttributes.Of(Flash.AttentionGeometry.LayoutAttr).With([.. QkBinding.GridAttributes]);

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) =>
        QkBinding.Describe(p.Grid, new OpAttributeValues().Set(Flash.AttentionGeometry.LayoutAttr, p.Layout == HeadLayout.Nhd ? "nhd" : "hnd"));

    /// <summary>The oracle, in double, reading the same table.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var table = t.Read("table");
        var o = new double[x.Length];
        for (int b = 0; b < p.Batch; b++)
        {
            for (int h = 0; h < p.Heads; h++)
            {
                for (long n = 0; n < p.Tokens; n++)
                {
                    for (int j = 0; j < p.HeadDim / 2; j++)
                    {
                        long i0 = RopeReference.Index(p.Layout, p.Heads, p.Tokens, p.HeadDim, b, h, n, 2 * j);
                        (o[i0], o[i0 + 1]) = RopeReference.Rotate(table, p.Grid, p.Split, n, j, x[i0], x[i0 + 1]);
                    }
                }
            }
        }
        t.Write("out", o);
    }

    /// <summary>ILGPU: one thread per pair.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) => FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>CUDA: kernels/rope/rope_apply.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t)
    {
        long rows = p.Shape.ElementCount / p.HeadDim;
        var rowsShape = new Shape(rows, p.HeadDim);
        ZtNative.RopeApply(backend, p.DType, (int)p.Layout, p.Batch, p.Heads, checked((int)p.Tokens), p.HeadDim, p.Grid.Frames, p.Grid.Height, p.Grid.Width,
            p.Grid.FrameOffset, p.Split.TimeDims, p.Split.HeightDims, p.Positions, p.HeadDim / 2, rows, t["x"].Reshape(rowsShape), t["table"], t["out"].Reshape(rowsShape));
    }

    /// <summary>The kernel: pair index i over B*H*N*(D/2).</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void Kernel<T, TCodec>(Index1D i, ArrayView<T> x, ArrayView<T> output, RopeDevice rope, int heads, int tokens, int headDim, int nhd)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        int pairs = headDim / 2;
        int j = i % pairs;
        long row = i / pairs;
        // row enumerates (b, h, n) for HND and (b, n, h) for NHD: the element offset is row * D either way.
        long n = nhd != 0 ? row / heads % tokens : row % tokens;
        long at = (row * headDim) + (2 * j);
        float x0 = codec.Load(x[at]);
        float x1 = codec.Load(x[at + 1]);
        rope.Rotate(n, j, ref x0, ref x1);
        output[at] = codec.Store(x0);
        output[at + 1] = codec.Store(x1);
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            var kernel = backend.Kernel(Kernel<T, TCodec>, acc =>
                acc.LoadAutoGroupedStreamKernel<Index1D, ArrayView<T>, ArrayView<T>, RopeDevice, int, int, int, int>(Kernel<T, TCodec>));
            long count = p.Shape.ElementCount / 2;
            kernel(checked((int)count), backend.View<T>(t["x"]), backend.View<T>(t["out"]), RopeDevice.Of(backend.View<float>(t["table"]), p.Grid, p.Split),
                p.Heads, checked((int)p.Tokens), p.HeadDim, p.Layout == HeadLayout.Nhd ? 1 : 0);
        }
    }
}
