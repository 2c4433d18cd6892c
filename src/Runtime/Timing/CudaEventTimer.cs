using ILGPU.Runtime.Cuda;
using Zoetrope.Runtime.Cuda;

namespace Zoetrope.Runtime;

/// <summary>
/// Times device work with a pair of CUDA events recorded on the backend's stream: the GPU
/// stamps them when it reaches them, so the measurement excludes launch overhead on the host
/// side and needs no synchronize between the markers.
/// </summary>
internal sealed class CudaEventTimer : IDeviceTimer
{
    private readonly IlgpuBackend _backend;
    private IntPtr _start;
    private IntPtr _stop;

    /// <summary>Creates the two events in the backend's CUDA context.</summary>
    public CudaEventTimer(IlgpuBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.Accelerator is not CudaAccelerator)
        {
            throw new ArgumentException($"{backend.Name} is not a CUDA backend", nameof(backend));
        }
        _backend = backend;
        backend.Accelerator.Bind();
        CudaDriver.Check(CudaDriverApi.cuEventCreate(out _start, 0), "cuEventCreate");
        CudaDriver.Check(CudaDriverApi.cuEventCreate(out _stop, 0), "cuEventCreate");
    }

    /// <inheritdoc />
    public void Start() => CudaDriver.Check(CudaDriverApi.cuEventRecord(_start, _backend.CudaStreamHandle), "cuEventRecord");

    /// <inheritdoc />
    public void Stop() => CudaDriver.Check(CudaDriverApi.cuEventRecord(_stop, _backend.CudaStreamHandle), "cuEventRecord");

    /// <inheritdoc />
    public double ElapsedMilliseconds
    {
        get
        {
            CudaDriver.Check(CudaDriverApi.cuEventSynchronize(_stop), "cuEventSynchronize");
            CudaDriver.Check(CudaDriverApi.cuEventElapsedTime(out float ms, _start, _stop), "cuEventElapsedTime");
            return ms;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_start != IntPtr.Zero)
        {
            CudaDriverApi.cuEventDestroy(_start);
            CudaDriverApi.cuEventDestroy(_stop);
            _start = _stop = IntPtr.Zero;
        }
    }
}
