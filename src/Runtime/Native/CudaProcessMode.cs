namespace Zoetrope.Runtime.Native;

/// <summary>
/// Which CUDA a process talks to. It is decided once, by the first CUDA backend opened (or the
/// first binding of the native shim): .NET binds a native import to one library for the life of
/// the process, and ILGPU holds one CUDA driver API per process, so the real driver and the
/// emulated device cannot both be reached from one process.
/// </summary>
internal enum CudaProcessMode
{
    /// <summary>No CUDA backend has been opened yet.</summary>
    Undecided = 0,
    /// <summary>The real driver (libcuda.so.1) and libzoetrope_native.so: <c>ilgpu-cuda</c>, <c>cuda</c>.</summary>
    Real = 1,
    /// <summary>The emulated CUDA device's libraries: <c>ilgpu-emu</c>, <c>cuda-emu</c>.</summary>
    Emulated = 2,
}
