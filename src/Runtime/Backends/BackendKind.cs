namespace Zoetrope.Runtime;

/// <summary>
/// The four implementations an op can have. The numeric order is also the order of the
/// generated per-op implementation tables.
/// </summary>
public enum BackendKind
{
    /// <summary><c>reference</c>: scalar C# with double accumulation, the oracle.</summary>
    Reference = 0,
    /// <summary><c>ilgpu-cpu</c>: the ILGPU kernels on ILGPU's CPU accelerator (32-lane warps).</summary>
    IlgpuCpu = 1,
    /// <summary><c>ilgpu-cuda</c>: the same ILGPU kernels compiled to PTX for an NVIDIA GPU.</summary>
    IlgpuCuda = 2,
    /// <summary><c>cuda</c>: hand-written CUDA and CUTLASS from libzoetrope_native.so.</summary>
    Cuda = 3,
}
