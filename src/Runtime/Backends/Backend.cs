namespace Zoetrope.Runtime;

/// <summary>
/// A place where tensors live and ops run: host memory for <c>reference</c>, an ILGPU
/// accelerator for <c>ilgpu-cpu</c> / <c>ilgpu-cuda</c>, an ILGPU CUDA accelerator plus the
/// native shim for <c>cuda</c>. Open one with <see cref="Backends.Get(BackendKind)"/> (shared, per process)
/// or <see cref="Backends.Create"/> (owned by the caller).
/// </summary>
public abstract class Backend : IDisposable
{
    private long _liveBytes;
    private long _peakBytes;
    private WorkspacePool? _workspaces;

    // Backends come from Backends.Get/Create; only this assembly's implementations derive.
    private protected Backend()
    {
    }

    /// <summary>Which implementation ops use on this backend.</summary>
    public abstract BackendKind Kind { get; }

    /// <summary>The backend's name (<see cref="BackendKinds.Label"/>).</summary>
    public string Name => Kind.Label();

    /// <summary>A human-readable device description.</summary>
    public abstract string DeviceName { get; }

    /// <summary>True for process-wide instances from <see cref="Backends.Get(BackendKind)"/>; disposing them does nothing.</summary>
    public bool IsShared { get; internal set; }

    /// <summary>Bytes of device (or host, for <c>reference</c>) memory held by live tensors of this backend.</summary>
    public long LiveBytes => Interlocked.Read(ref _liveBytes);

    /// <summary>The most <see cref="LiveBytes"/> has been since creation or the last <see cref="ResetPeakBytes"/>.</summary>
    public long PeakBytes => Interlocked.Read(ref _peakBytes);

    /// <summary>Restarts <see cref="PeakBytes"/> from the current <see cref="LiveBytes"/>.</summary>
    public void ResetPeakBytes() => Interlocked.Exchange(ref _peakBytes, LiveBytes);

    internal void TrackAllocation(long bytes)
    {
        long live = Interlocked.Add(ref _liveBytes, bytes);
        long peak;
        while (live > (peak = Interlocked.Read(ref _peakBytes)) && Interlocked.CompareExchange(ref _peakBytes, live, peak) != peak)
        {
        }
    }

    /// <summary>True once disposed.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Allocates a contiguous tensor (contents unspecified; host memory is zeroed).</summary>
    public Tensor Allocate(DType dtype, Shape shape, string name = "tensor")
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        long bytes = checked(shape.ElementCount * dtype.Size());
        return new Tensor(name, dtype, shape, shape.ContiguousStrides(), 0, AllocateStorage(bytes), ownsStorage: true);
    }

    /// <summary>Scratch memory kept between op calls (see <see cref="WorkspacePool"/>): rent with <c>using var w = backend.Workspaces.Rent(...)</c>.</summary>
    internal WorkspacePool Workspaces
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return LazyInitializer.EnsureInitialized(ref _workspaces, () => new WorkspacePool(this, AllocateStorage));
        }
    }

    /// <summary>Allocates <paramref name="byteLength"/> bytes on this device.</summary>
    private protected abstract TensorStorage AllocateStorage(long byteLength);

    /// <summary>Copies host bytes into <paramref name="dst"/> at <paramref name="byteOffset"/>.</summary>
    internal abstract void Upload(TensorStorage dst, long byteOffset, ReadOnlySpan<byte> src);

    /// <summary>Copies bytes from <paramref name="src"/> at <paramref name="byteOffset"/> to the host.</summary>
    internal abstract void Download(TensorStorage src, long byteOffset, Span<byte> dst);

    /// <summary>
    /// Copies <paramref name="byteLength"/> bytes between two storages of this backend without a
    /// trip through the host (queued on the backend's stream; the KV cache writes use it).
    /// </summary>
    internal abstract void CopyWithin(TensorStorage src, long srcOffset, TensorStorage dst, long dstOffset, long byteLength);

    /// <summary>Sets <paramref name="byteLength"/> bytes from <paramref name="byteOffset"/> to <paramref name="value"/> (used to poison outputs).</summary>
    internal abstract void Fill(TensorStorage dst, long byteOffset, long byteLength, byte value);

    /// <summary>Waits until all work queued on this backend has finished.</summary>
    public abstract void Synchronize();

    /// <summary>A timer for one span of device work: CUDA events on GPU backends, a stopwatch around a synchronize on CPU ones.</summary>
    internal abstract IDeviceTimer CreateTimer();

    /// <summary>Frees the backend (a no-op for shared instances).</summary>
    public void Dispose()
    {
        if (IsShared || IsDisposed)
        {
            return;
        }
        _workspaces?.Trim(close: true);
        IsDisposed = true;
        DisposeCore();
        GC.SuppressFinalize(this);
    }

    internal void DisposeShared()
    {
        if (!IsDisposed)
        {
            _workspaces?.Trim(close: true);
            IsDisposed = true;
            DisposeCore();
        }
    }

    /// <summary>Releases the device.</summary>
    private protected abstract void DisposeCore();

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({DeviceName})";
}
