namespace Zoetrope.Runtime;

/// <summary>
/// The bytes behind one or more tensors, owned by a <see cref="Backend"/>. Views share their
/// parent's storage; only the tensor that allocated it frees it.
/// </summary>
internal abstract class TensorStorage : IDisposable
{
    /// <summary>Creates storage of <paramref name="byteLength"/> bytes on <paramref name="backend"/>.</summary>
    protected TensorStorage(Backend backend, long byteLength)
    {
        Backend = backend;
        ByteLength = byteLength;
        backend.TrackAllocation(byteLength);
    }

    /// <summary>The backend whose device holds these bytes.</summary>
    public Backend Backend { get; }

    /// <summary>Size in bytes.</summary>
    public long ByteLength { get; }

    /// <summary>True once freed; any use after that is an error.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>Throws if the storage was freed.</summary>
    /// <exception cref="ObjectDisposedException">The storage was freed.</exception>
    public void ThrowIfDisposed()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
    }

    /// <summary>Frees the device memory.</summary>
    public void Dispose()
    {
        if (IsDisposed)
        {
            return;
        }
        IsDisposed = true;
        Backend.TrackAllocation(-ByteLength);
        Free();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the underlying memory (called once).</summary>
    protected abstract void Free();
}
