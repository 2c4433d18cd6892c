namespace Zoetrope.Runtime;

/// <summary>
/// The backends. The numeric order is also the order of the generated per-op implementation
/// tables; the two emulated kinds have no implementations of their own: they run the GPU kind's
/// (<see cref="BackendKinds.ImplementationKind"/>), so an op cannot tell them apart from a GPU.
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
    /// <summary>
    /// <c>ilgpu-emu</c>: the <c>ilgpu-cuda</c> implementation (ILGPU's PTX, ILGPU's CUDA accelerator)
    /// on the emulated CUDA device, reached through an emulated driver library.
    /// </summary>
    IlgpuEmu = 4,
    /// <summary>
    /// <c>cuda-emu</c>: the <c>cuda</c> implementation (the hand-written kernels, host code unchanged)
    /// on the emulated CUDA device, reached through an emulated CUDA runtime.
    /// </summary>
    CudaEmu = 5,
}
