using Zoetrope.Runtime;
using Zoetrope.Runtime.Native;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Quant.Gemm;

/// <summary>
/// Which native kernel a linear op uses on the <c>cuda</c> backend: the hand-written tensor-core
/// GEMM (always built) or CUTLASS's (built where CUTLASS is, for the shapes and alignment it
/// takes). The measured table decides; without a measurement CUTLASS is the default where it
/// applies (a pipelined, tuned mainloop). The choice and its reason go to <see cref="OpNotes"/>.
/// </summary>
internal static class NativeGemmVariants
{
    /// <summary>
    /// Whether to call CUTLASS's <paramref name="export"/>. <paramref name="unsupported"/>: why the
    /// call asks for something that kernel cannot do (null when it can): then never CUTLASS.
    /// </summary>
    public static bool UseCutlass(CudaBackend backend, string op, string export, long m, long n, long k, bool shapesFit, string? unsupported, params Tensor[] operands)
    {
        if (unsupported is not null)
        {
            OpNotes.Record($"{op}: cuda variant hand-written ({export} cannot: {unsupported})");
            return false;
        }
        if (!NativeShim.HasExport(export))
        {
            OpNotes.Record($"{op}: cuda variant hand-written (the shim has no {export}: built without CUTLASS)");
            return false;
        }
        if (backend.DeviceArch.StartsWith("sm_9", StringComparison.Ordinal))
        {
            // CUTLASS is built here for its sm_80 kernels; on Hopper the hand-written dispatch takes the TMA + wgmma kernel (kernels/hopper/linear_sm90.cu).
            OpNotes.Record($"{op}: cuda variant hand-written ({backend.DeviceArch}: the sm_90a wgmma kernels)");
            return false;
        }
        if (!shapesFit || operands.Any(t => backend.DevicePointer(t) % 16 != 0))
        {
            OpNotes.Record($"{op}: cuda variant hand-written (shape or alignment outside CUTLASS's constraints)");
            return false;
        }
        var (choice, reason) = LinearDispatch.Default.Choose(backend.DeviceArch, "cuda_variant:" + op, m, n, k, "cutlass");
        OpNotes.Record($"{op}: cuda variant {choice} ({reason})");
        return choice == "cutlass";
    }
}
