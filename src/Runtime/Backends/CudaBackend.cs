namespace Zoetrope.Runtime;

/// <summary>
/// The <c>cuda</c> backend: memory and the stream come from ILGPU's CUDA accelerator (so
/// tensors are shared in format with <c>ilgpu-cuda</c>), kernels from the hand-written CUDA
/// in libzoetrope_native.so, called through the generated bindings in
/// <see cref="Native.ZtNative"/>.
/// </summary>
public sealed class CudaBackend : IlgpuBackend
{
    /// <summary>Opens the first CUDA GPU and loads the native shim.</summary>
    /// <exception cref="ZoetropeDeviceException">No driver, no GPU, or the shim is not built.</exception>
    internal CudaBackend()
        : base(BackendKind.Cuda)
    {
        Native.NativeShim.Require();
    }

    /// <inheritdoc />
    public override string DeviceName => $"{Accelerator.Name} + {Native.NativeShim.Describe()}";
}
