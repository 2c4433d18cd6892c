using Zoetrope.Runtime.Cuda;
using Zoetrope.Runtime.Native;
using System.Collections.Concurrent;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Zoetrope.Runtime;

/// <summary>
/// An ILGPU accelerator as a backend: <c>ilgpu-cpu</c> (ILGPU's CPU accelerator emulating
/// 32-lane warps, so warp code runs as on a GPU), <c>ilgpu-cuda</c> (the first CUDA GPU) or
/// <c>ilgpu-emu</c> (ILGPU's CUDA accelerator on the emulated CUDA device, <see cref="EmulatedCuda"/>).
/// Kernels are loaded once per backend and cached (<see cref="Kernel{TKernel}"/>).
/// </summary>
public class IlgpuBackend : Backend
{
    private readonly ConcurrentDictionary<System.Reflection.MethodInfo, Delegate> _kernels = new();
    private readonly BackendKind _kind;

    /// <summary>Opens the accelerator for <paramref name="kind"/> (ilgpu-cpu, ilgpu-cuda, cuda, ilgpu-emu or cuda-emu).</summary>
    /// <exception cref="ZoetropeDeviceException">No CUDA driver or GPU for a CUDA kind; the emulated driver missing for an emulated one.</exception>
    internal IlgpuBackend(BackendKind kind)
    {
        _kind = kind;
        if (kind == BackendKind.IlgpuCpu)
        {
            Context = Context.Create(b => b.CPU(CPUDevice.Nvidia).EnableAlgorithms().Optimize(OptimizationLevel.O1));
            Accelerator = Context.GetCPUDevice(0).CreateCPUAccelerator(Context);
        }
        else if (kind is BackendKind.IlgpuCuda or BackendKind.Cuda or BackendKind.IlgpuEmu or BackendKind.CudaEmu)
        {
            // The emulated kinds are ILGPU's own CUDA accelerator with the emulated driver in
            // place of libcuda.so.1; both must claim the process before ILGPU binds its imports.
            if (kind.IsEmulated())
            {
                EmulatedCuda.OpenDriver();
            }
            else
            {
                CudaDriver.Require();
                if (!EmulatedCuda.TryClaim(CudaProcessMode.Real, out var why))
                {
                    throw new ZoetropeDeviceException(why);
                }
            }
            try
            {
                Context = Context.Create(b => b.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
                if (Context.GetCudaDevices().Count == 0)
                {
                    Context.Dispose();
                    throw new ZoetropeDeviceException(kind.IsEmulated()
                        ? "ILGPU found no CUDA device on the emulated driver: ILGPU's CUDA API was initialised earlier in this process (an ILGPU Cuda() context made outside the backends), before the emulated driver could be installed"
                        : "ILGPU found no CUDA device although the driver reports one");
                }
                Accelerator = Context.GetCudaDevice(0).CreateCudaAccelerator(Context);
            }
            catch (Exception e) when (e is not ZoetropeDeviceException)
            {
                throw new ZoetropeDeviceException(
                    $"could not open the {(kind.IsEmulated() ? "emulated CUDA device" : "CUDA device")} through ILGPU: {e.Message}", inner: e);
            }
        }
        else
        {
            throw new ArgumentException($"{kind.Label()} is not an ILGPU backend", nameof(kind));
        }
    }

    /// <inheritdoc />
    public override BackendKind Kind => _kind;

    /// <inheritdoc />
    public override string DeviceName => Accelerator is CPUAccelerator cpu
        ? $"ILGPU CPU accelerator ({cpu.WarpSize}-lane warps, {cpu.NumThreads} threads)"
        : Accelerator.Name;

    /// <summary>The ILGPU context.</summary>
    public Context Context { get; }

    /// <summary>The accelerator kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The stream all work of this backend is queued on.</summary>
    public AcceleratorStream Stream => Accelerator.DefaultStream;

    /// <summary>
    /// The device's architecture as dispatch tables name it: sm_90 for a CUDA GPU, sm_80 for the
    /// emulated device (ILGPU's PTX is compute_80, whether the device presents sm_80 or, with
    /// ZOETROPE_EMU_SM=89, sm_89), the backend name otherwise.
    /// </summary>
    public string DeviceArch => Accelerator is CudaAccelerator cuda
        ? $"sm_{cuda.Architecture.Major}{cuda.Architecture.Minor}"
        : Name;

    /// <summary>The CUDA stream handle (CUstream) for native launches; zero on the CPU accelerator.</summary>
    public IntPtr CudaStreamHandle => Stream is CudaStream cs ? cs.StreamPtr : IntPtr.Zero;

    /// <summary>
    /// The loaded kernel for <paramref name="kernel"/>, loading it with <paramref name="load"/>
    /// the first time (ILGPU compiles on load, so this is the only slow call).
    /// </summary>
    public TKernel Kernel<TKernel>(Delegate kernel, Func<Accelerator, TKernel> load)
        where TKernel : Delegate
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return (TKernel)_kernels.GetOrAdd(kernel.Method, _ => load(Accelerator));
    }

    /// <summary>
    /// The elements of <paramref name="tensor"/> as an ILGPU view of <typeparamref name="T"/>.
    /// The tensor must live on this backend and be contiguous; <typeparamref name="T"/> must be
    /// as wide as its dtype (bf16 as <see cref="ushort"/>, f16 as <see cref="ILGPU.Half"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Wrong backend, non-contiguous, or element width mismatch.</exception>
    public unsafe ArrayView<T> View<T>(Tensor tensor)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!ReferenceEquals(tensor.Backend, this) || tensor.Storage is not IlgpuStorage storage)
        {
            throw new ArgumentException($"tensor '{tensor.Name}' lives on {tensor.Backend.Name}, not on {Name}", tensor.Name);
        }
        if (!tensor.IsContiguous)
        {
            throw new ArgumentException($"tensor '{tensor.Name}' {tensor.Shape} must be contiguous for this kernel", tensor.Name);
        }
        if (sizeof(T) != tensor.DType.Size())
        {
            throw new ArgumentException(
                $"tensor '{tensor.Name}': a {tensor.DType.Name()} element is {tensor.DType.Size()} bytes, {typeof(T).Name} is {sizeof(T)}",
                tensor.Name);
        }
        tensor.ThrowIfUnusable();
        return storage.Buffer.View.AsContiguous().SubView(tensor.ByteOffset, Math.Max(1, tensor.ByteCount)).Cast<T>().SubView(0, tensor.ElementCount);
    }

    /// <summary>The raw device address of <paramref name="tensor"/>'s first element (for native launches).</summary>
    public IntPtr DevicePointer(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!ReferenceEquals(tensor.Backend, this) || tensor.Storage is not IlgpuStorage storage)
        {
            throw new ArgumentException($"tensor '{tensor.Name}' lives on {tensor.Backend.Name}, not on {Name}", tensor.Name);
        }
        tensor.ThrowIfUnusable();
        return storage.DevicePointer + (nint)tensor.ByteOffset;
    }

    /// <inheritdoc />
    private protected override TensorStorage AllocateStorage(long byteLength) =>
        new IlgpuStorage(this, Accelerator.Allocate1D<byte>(Math.Max(1, byteLength)));

    /// <inheritdoc />
    internal override void Upload(TensorStorage dst, long byteOffset, ReadOnlySpan<byte> src)
    {
        if (src.Length == 0)
        {
            return;
        }
        Own(dst).Buffer.View.SubView(byteOffset, src.Length).CopyFromCPU(Stream, src);
        Stream.Synchronize();
    }

    /// <inheritdoc />
    internal override void Download(TensorStorage src, long byteOffset, Span<byte> dst)
    {
        if (dst.Length == 0)
        {
            return;
        }
        Own(src).Buffer.View.SubView(byteOffset, dst.Length).CopyToCPU(Stream, dst);
        Stream.Synchronize();
    }

    /// <inheritdoc />
    internal override void CopyWithin(TensorStorage src, long srcOffset, TensorStorage dst, long dstOffset, long byteLength)
    {
        if (byteLength == 0)
        {
            return;
        }
        Own(src).Buffer.View.SubView(srcOffset, byteLength).CopyTo(Stream, Own(dst).Buffer.View.SubView(dstOffset, byteLength));
    }

    /// <inheritdoc />
    internal override void Fill(TensorStorage dst, long byteOffset, long byteLength, byte value)
    {
        if (byteLength == 0)
        {
            return;
        }
        Own(dst).Buffer.View.SubView(byteOffset, byteLength).MemSet(Stream, value);
    }

    /// <inheritdoc />
    public override void Synchronize() => Stream.Synchronize();

    // The emulated device finishes every call before returning, and our CUDA event binding means
    // the real driver: a stopwatch around a synchronize measures it exactly.
    /// <inheritdoc />
    internal override IDeviceTimer CreateTimer() =>
        Accelerator is CudaAccelerator && !Kind.IsEmulated() ? new CudaEventTimer(this) : new StopwatchTimer(this);

    /// <inheritdoc />
    private protected override void DisposeCore()
    {
        _kernels.Clear();
        Accelerator.Dispose();
        Context.Dispose();
    }

    private IlgpuStorage Own(TensorStorage storage)
    {
        if (storage is not IlgpuStorage s || !ReferenceEquals(storage.Backend, this))
        {
            throw new ArgumentException($"storage on {storage.Backend.Name} does not belong to {Name}", nameof(storage));
        }
        s.ThrowIfDisposed();
        return s;
    }
}
