namespace Zoetrope.Runtime;

/// <summary>
/// The <c>cuda</c> backend: memory and the stream come from ILGPU's CUDA accelerator (so
/// tensors are shared in format with <c>ilgpu-cuda</c>), kernels from the hand-written CUDA
/// in libzoetrope_native.so, called through the generated bindings in
/// <see cref="Native.ZtNative"/>. As <c>cuda-emu</c> the same on the emulated CUDA device: the
/// accelerator on the emulated driver, the kernels from libzoetrope_native_emu.so (the same
/// sources as PTX, their host code unchanged, on the emulated runtime).
/// </summary>
public sealed class CudaBackend : IlgpuBackend
{
    /// <summary>Opens the first CUDA GPU (or the emulated device) and loads the native shim.</summary>
    /// <exception cref="ZoetropeDeviceException">No driver, no GPU, or the shim is not built.</exception>
    internal CudaBackend(BackendKind kind = BackendKind.Cuda)
        : base(kind)
    {
        if (kind.IsEmulated())
        {
            Native.EmulatedCuda.OpenNative();
        }
        else
        {
            Native.NativeShim.Require();
        }
    }

    /// <inheritdoc />
    public override string DeviceName => $"{Accelerator.Name} + {Native.NativeShim.Describe()}";
}
