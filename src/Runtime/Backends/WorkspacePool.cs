namespace Zoetrope.Runtime;

/// <summary>
/// Scratch memory for ops, kept between calls. An op that needs a workspace (Sage's fp8 V codes,
/// SLA's phi and prefix buffers, the block map's pooled means, qk_norm_rope_int8's f32 rows) rents
/// one for the length of its call and hands it back on <see cref="Tensor.Dispose"/> (after which
/// the tensor refuses to be viewed: its memory may be the next rental's); the storage stays
/// allocated for the next call. Why: each <c>cuMemFree</c> synchronizes the whole device
/// and each <c>cuMemAlloc</c> of a large buffer costs tens of microseconds, per call, on the
/// streaming path; a warm pool makes both zero. Reuse is safe without a synchronize because every
/// op of a backend runs on its one stream, in order: a kernel of the next call cannot start
/// before the previous call's kernels that read the buffer have finished.
/// </summary>
/// <remarks>
/// Rent picks the smallest idle storage that is large enough (best fit) and allocates a new one
/// otherwise; a storage is never shared by two live rentals. At most <see cref="MaxIdle"/> storages
/// stay idle: returning one more frees the smallest. Idle storages count in the backend's
/// <see cref="Backend.LiveBytes"/>, as they occupy the device.
/// </remarks>
internal sealed class WorkspacePool
{
    /// <summary>Idle storages kept for reuse; more are freed, smallest first.</summary>
    public const int MaxIdle = 8;

    // Rounding the allocation keeps a storage reusable for a slightly larger request next call.
    private const long Granule = 256;

    private readonly Backend _backend;
    private readonly Func<long, TensorStorage> _allocate;
    private readonly List<TensorStorage> _idle = [];
    private readonly Lock _gate = new();
    private bool _closed;
    private long _rents;
    private long _allocations;

    internal WorkspacePool(Backend backend, Func<long, TensorStorage> allocate)
    {
        _backend = backend;
        _allocate = allocate;
    }

    /// <summary>Rentals so far.</summary>
    public long Rents => Interlocked.Read(ref _rents);

    /// <summary>Rentals that had to allocate device memory (the rest reused an idle storage).</summary>
    public long Allocations => Interlocked.Read(ref _allocations);

    /// <summary>Bytes held by idle storages.</summary>
    public long IdleBytes
    {
        get
        {
            lock (_gate)
            {
                return _idle.Sum(s => s.ByteLength);
            }
        }
    }

    /// <summary>
    /// A contiguous tensor of <paramref name="dtype"/> and <paramref name="shape"/> on pooled
    /// memory (contents unspecified). Dispose it to hand the memory back; the tensor must not be
    /// used after that.
    /// </summary>
    public Tensor Rent(DType dtype, Shape shape, string name = "workspace")
    {
        ObjectDisposedException.ThrowIf(_backend.IsDisposed, _backend);
        long bytes = checked(Math.Max(1, shape.ElementCount) * dtype.Size());
        Interlocked.Increment(ref _rents);
        TensorStorage? storage = null;
        lock (_gate)
        {
            int best = -1;
            for (int i = 0; i < _idle.Count; i++)
            {
                if (_idle[i].ByteLength >= bytes && (best < 0 || _idle[i].ByteLength < _idle[best].ByteLength))
                {
                    best = i;
                }
            }
            if (best >= 0)
            {
                storage = _idle[best];
                _idle.RemoveAt(best);
            }
        }
        if (storage is null)
        {
            Interlocked.Increment(ref _allocations);
            storage = _allocate(checked((bytes + Granule - 1) / Granule * Granule));
        }
        return new Tensor(name, dtype, shape, shape.ContiguousStrides(), 0, storage, ownsStorage: false, release: () => Return(storage));
    }

    /// <summary>Frees every idle storage.</summary>
    public void Trim() => Trim(close: false);

    /// <summary>Frees every idle storage; with <paramref name="close"/> (the backend's dispose), a rental handed back later is freed, not kept.</summary>
    internal void Trim(bool close)
    {
        TensorStorage[] idle;
        lock (_gate)
        {
            _closed |= close;
            idle = [.. _idle];
            _idle.Clear();
        }
        foreach (var s in idle)
        {
            s.Dispose();
        }
    }

    private void Return(TensorStorage storage)
    {
        TensorStorage? evict = null;
        lock (_gate)
        {
            if (_closed)
            {
                evict = storage;
            }
            else
            {
                _idle.Add(storage);
            }
            if (!_closed && _idle.Count > MaxIdle)
            {
                int smallest = 0;
                for (int i = 1; i < _idle.Count; i++)
                {
                    if (_idle[i].ByteLength < _idle[smallest].ByteLength)
                    {
                        smallest = i;
                    }
                }
                evict = _idle[smallest];
                _idle.RemoveAt(smallest);
            }
        }
        evict?.Dispose();
    }
}
