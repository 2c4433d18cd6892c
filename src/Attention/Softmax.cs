// softmax: y[r, :] = exp(x[r, :] - max_r) / sum(exp(x[r, :] - max_r)), row-wise over the last dim.
//
// Layout: x, y contiguous [rows, cols], f32/f16/bf16. Precision: fp32 math; the reference
// computes in double. Algorithm (ILGPU): one warp per row; each lane keeps an online (max, sum)
// pair over its strided columns, the pairs are combined with a butterfly of warp shuffles
// (every lane ends with the row's max and sum), then a second pass writes the normalised
// values. Two reads and one write per element, no shared memory, no block barrier.
// Masked logits (-inf) are skipped by the online sum, and a fully masked row is written as 0
// (see the class's contract), the same as kernels/attention/softmax.cu.
//
// Backends: reference, ilgpu-cpu, ilgpu-cuda, cuda (kernels/attention/softmax.cu).
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Attention;

/// <summary>
/// Row-wise softmax over the last dimension of a [rows, cols] tensor. Contract for masked logits:
/// x may hold -inf, which gets probability 0; a fully masked row (every element -inf) is 0
/// throughout, as an attention row with no visible key (PyTorch's softmax gives NaN there; a
/// zero row is what a masked attention wants, and it is finite). +inf and NaN in x are outside
/// the contract. Every backend follows it.
/// </summary>
[Op("softmax", Cases = typeof(SoftmaxCases), Summary = "row-wise softmax over the last dim (f32/f16/bf16, fp32 math, warp-shuffle reduction)")]
public sealed partial class Softmax : IOp<Softmax.Params>
{
    // One group is one warp; the reduction below is written for 32 lanes.
    private const int WarpLanes = 32;

    /// <summary>Parameters: element type and extents.</summary>
    /// <param name="DType">f32, f16 or bf16.</param>
    /// <param name="Rows">Number of rows.</param>
    /// <param name="Cols">Row length (the softmax axis).</param>
    public readonly record struct Params(DType DType, long Rows, long Cols) : IOpParams
    {
        /// <inheritdoc />
        public string Label => FormattableString.Invariant($"{DType.Name()} [{Rows}, {Cols}]");
    }

    /// <summary>Runs the softmax of <paramref name="x"/> into <paramref name="y"/> on their backend.</summary>
    public static void Run(Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 2)
        {
            throw new ArgumentException($"tensor '{x.Name}': softmax expects [rows, cols], got {x.Shape}", nameof(x));
        }
        Info.Run(x.Backend, new Params(x.DType, x.Shape[0], x.Shape[1]), new OpTensors { { "x", x }, { "y", y } });
    }

    /// <summary>
    /// x [rows, cols] in, y [rows, cols] out. x may hold -inf (masked logits), so masked cases
    /// feed it: scattered, and whole rows (see the class's contract).
    /// </summary>
    public static OpSignature Signature(Params p) => new OpSignature()
        .In("x", p.DType, new Shape(p.Rows, p.Cols), p.Cols > 0
            ? InitSpec.Gaussian(0, 3).WithMasking(NegInfPattern.Logits(p.Cols, fullyMaskedRows: true))
            : InitSpec.Gaussian(0, 3))
        .Out("y", p.DType, new Shape(p.Rows, p.Cols));

    /// <inheritdoc />
    public static OpCost Cost(Params p) => new(5.0 * p.Rows * p.Cols, 3.0 * p.Rows * p.Cols * p.DType.Size());

    /// <inheritdoc />
    public static Params Bind(OpBinding binding)
    {
        var x = binding.Input("x");
        if (x.Rank < 1)
        {
            throw new ArgumentException($"op 'softmax': input 'x' must have at least one dimension, got {x.Shape}", "x");
        }
        long cols = x.Shape[-1];
        return new Params(x.DType, cols == 0 ? 0 : x.ElementCount / cols, cols);
    }

    /// <inheritdoc />
    public static OpAttributes Attributes => OpAttributes.None;

    /// <inheritdoc />
    public static OpAttributeValues AttributesOf(Params p) => new();

    /// <summary>The oracle: double precision, max-subtracted; a fully masked row is 0.</summary>
    public static void Reference(Params p, OpTensors t)
    {
        var x = t.Read("x");
        var y = new double[x.Length];
        for (long r = 0; r < p.Rows; r++)
        {
            long o = r * p.Cols;
            double m = double.NegativeInfinity;
            for (long c = 0; c < p.Cols; c++)
            {
                m = Math.Max(m, x[o + c]);
            }
            if (m == double.NegativeInfinity)
            {
                // Fully masked: y stays 0 (exp(-inf - -inf) would be NaN).
                continue;
            }
            double s = 0;
            for (long c = 0; c < p.Cols; c++)
            {
                s += Math.Exp(x[o + c] - m);
            }
            for (long c = 0; c < p.Cols; c++)
            {
                y[o + c] = Math.Exp(x[o + c] - m) / s;
            }
        }
        t.Write("y", y);
    }

    /// <summary>ILGPU: one 32-lane warp per row.</summary>
    [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
    internal static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) =>
        FloatTypes.Visit(p.DType, new Launcher(backend, p, t));

    /// <summary>Hand-written CUDA: kernels/attention/softmax.cu.</summary>
    [RunsOn(BackendKind.Cuda)]
    internal static void Cuda(CudaBackend backend, Params p, OpTensors t) =>
        ZtNative.SoftmaxRows(backend, p.DType, p.Rows, p.Cols, t["x"], t["y"]);

    /// <summary>The kernel: group = one warp = one row.</summary>
    [IlgpuKernel(typeof(float), typeof(F32Codec))]
    [IlgpuKernel(typeof(ILGPU.Half), typeof(F16Codec))]
    [IlgpuKernel(typeof(ushort), typeof(Bf16Codec))]
    internal static void RowKernel<T, TCodec>(ArrayView<T> x, ArrayView<T> y, int cols)
        where T : unmanaged
        where TCodec : struct, IElementCodec<T>
    {
        TCodec codec = default;
        long row = Grid.IdxX;
        int lane = Group.IdxX;
        long start = row * cols;

        // Online max and sum: rescale the running sum whenever the max grows. A masked logit
        // (-inf) adds nothing; skipping it also keeps exp(-inf - -inf) = NaN out of the sum
        // while the lane's max is still -inf.
        float m = float.NegativeInfinity;
        float s = 0f;
        for (int c = lane; c < cols; c += Warp.WarpSize)
        {
            float v = codec.Load(x[start + c]);
            if (v > m)
            {
                s = (s * XMath.Exp(m - v)) + 1f;
                m = v;
            }
            else if (v != float.NegativeInfinity)
            {
                s += XMath.Exp(v - m);
            }
        }

        // Butterfly: after log2(32) steps every lane holds the row's (max, sum).
        for (int offset = Warp.WarpSize / 2; offset > 0; offset >>= 1)
        {
            float mo = Warp.ShuffleXor(m, offset);
            float so = Warp.ShuffleXor(s, offset);
            float mn = XMath.Max(m, mo);
            s = (mn == float.NegativeInfinity) ? 0f : (s * XMath.Exp(m - mn)) + (so * XMath.Exp(mo - mn));
            m = mn;
        }

        // A fully masked row (max -inf, sum 0) is 0 by contract.
        bool masked = m == float.NegativeInfinity;
        float inv = masked ? 0f : 1f / s;
        for (int c = lane; c < cols; c += Warp.WarpSize)
        {
            y[start + c] = codec.Store(masked ? 0f : XMath.Exp(codec.Load(x[start + c]) - m) * inv);
        }
    }

    private readonly struct Launcher(IlgpuBackend backend, Params p, OpTensors t) : IFloatTypeVisitor
    {
        public void Visit<T, TCodec>()
            where T : unmanaged
            where TCodec : struct, IElementCodec<T>
        {
            if (p.Rows == 0 || p.Cols == 0)
            {
                return;
            }
            var kernel = backend.Kernel(RowKernel<T, TCodec>, acc =>
                acc.LoadStreamKernel<ArrayView<T>, ArrayView<T>, int>(RowKernel<T, TCodec>));
            if (backend.Accelerator.WarpSize != WarpLanes)
            {
                throw new NotSupportedException($"softmax's ILGPU kernel assumes {WarpLanes}-lane warps; {backend.DeviceName} has {backend.Accelerator.WarpSize}");
            }
            var config = new KernelConfig(checked((int)p.Rows), WarpLanes);
            kernel(config, backend.View<T>(t["x"]), backend.View<T>(t["y"]), checked((int)p.Cols));
        }
    }
}
