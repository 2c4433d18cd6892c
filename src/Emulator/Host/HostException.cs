namespace Zoetrope.Emulator.Host;

/// <summary>
/// A failure of an emulated runtime or driver call that no <see cref="EmuError"/> names (a stale
/// handle, a bad device ordinal, host memory that was never registered): it carries the two
/// codes, the CUresult and the cudaError_t, the call returns for it. Like every exception in the
/// Host layer it never leaves a callback: <see cref="HostCalls"/> turns it into its code.
/// </summary>
internal sealed class HostException : Exception
{
    public HostException(int driverCode, int runtimeCode, string message)
        : base(message)
    {
        DriverCode = driverCode;
        RuntimeCode = runtimeCode;
    }

    /// <summary>The CUresult.</summary>
    public int DriverCode { get; }

    /// <summary>The cudaError_t.</summary>
    public int RuntimeCode { get; }

    public static HostException InvalidHandle(string message) => new(CudaCodes.InvalidHandle, CudaCodes.InvalidHandle, message);

    public static HostException InvalidDevice(int ordinal) =>
        new(CudaCodes.InvalidDevice, CudaCodes.InvalidDevice, $"device {ordinal}: the emulated CUDA device is the only one (ordinal 0)");

    public static HostException InvalidContext(string message) => new(CudaCodes.InvalidContext, CudaCodes.InvalidContext, message);

    public static HostException InvalidImage(string message) => new(CudaCodes.InvalidImage, CudaCodes.InvalidKernelImage, message);

    /// <summary>No code in the image runs on this device (CUDA_ERROR_NO_BINARY_FOR_GPU / cudaErrorNoKernelImageForDevice).</summary>
    public static HostException NoKernelImage(string message) => new(CudaCodes.NoBinaryForGpu, CudaCodes.NoBinaryForGpu, message);

    public static HostException NotRegistered(string message) =>
        new(CudaCodes.HostMemoryNotRegistered, CudaCodes.HostMemoryNotRegistered, message);

    public static HostException AlreadyRegistered(string message) =>
        new(CudaCodes.HostMemoryAlreadyRegistered, CudaCodes.HostMemoryAlreadyRegistered, message);

    public static HostException PeerAccessUnsupported(string message) =>
        new(CudaCodes.PeerAccessUnsupported, CudaCodes.PeerAccessUnsupported, message);
}
