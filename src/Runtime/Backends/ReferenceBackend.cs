namespace Zoetrope.Runtime;

/// <summary>
/// The <c>reference</c> backend: tensors in host memory, ops as scalar C# with double
/// accumulation. Always available; it is also where host tensors (file I/O, the check
/// harness's inputs) live.
/// </summary>
public sealed unsafe class ReferenceBackend : Backend
{
    /// <inheritdoc />
    public override BackendKind Kind => BackendKind.Reference;

    /// <inheritdoc />
    public override string DeviceName => $"host CPU ({Environment.ProcessorCount} threads)";

    /// <summary>Wraps external host memory (e.g. a memory-mapped file) as a tensor without copying.</summary>
    internal Tensor Wrap(DType dtype, Shape shape, byte* pointer, long byteLength, IDisposable? owner, string name, bool readOnly = false)
    {
        var storage = new HostStorage(this, pointer, byteLength, owner, readOnly);
        return new Tensor(name, dtype, shape, shape.ContiguousStrides(), 0, storage, ownsStorage: true);
    }

    /// <inheritdoc />
    private protected override TensorStorage AllocateStorage(long byteLength) => new HostStorage(this, byteLength);

    /// <inheritdoc />
    internal override void Upload(TensorStorage dst, long byteOffset, ReadOnlySpan<byte> src) =>
        src.CopyTo(Writable(dst).Bytes(byteOffset, src.Length));

    /// <inheritdoc />
    internal override void Download(TensorStorage src, long byteOffset, Span<byte> dst) =>
        Host(src).Bytes(byteOffset, dst.Length).CopyTo(dst);

    /// <inheritdoc />
    internal override void CopyWithin(TensorStorage src, long srcOffset, TensorStorage dst, long dstOffset, long byteLength)
    {
        var from = Host(src);
        var to = Writable(dst);
        for (long done = 0; done < byteLength;)
        {
            int chunk = (int)Math.Min(byteLength - done, 1 << 30);
            from.Bytes(srcOffset + done, chunk).CopyTo(to.Bytes(dstOffset + done, chunk));
            done += chunk;
        }
    }

    /// <inheritdoc />
    internal override void Fill(TensorStorage dst, long byteOffset, long byteLength, byte value)
    {
        var host = Writable(dst);
        for (long done = 0; done < byteLength;)
        {
            int chunk = (int)Math.Min(byteLength - done, 1 << 30);
            host.Bytes(byteOffset + done, chunk).Fill(value);
            done += chunk;
        }
    }

    /// <inheritdoc />
    public override void Synchronize()
    {
    }

    /// <inheritdoc />
    internal override IDeviceTimer CreateTimer() => new StopwatchTimer(this);

    /// <inheritdoc />
    private protected override void DisposeCore()
    {
    }

    private HostStorage Writable(TensorStorage storage)
    {
        var host = Host(storage);
        if (host.IsReadOnly)
        {
            throw new InvalidOperationException("this tensor views read-only memory (a mapped file): copy it with To(...) before writing");
        }
        return host;
    }

    private HostStorage Host(TensorStorage storage)
    {
        if (storage is not HostStorage host || !ReferenceEquals(storage.Backend, this))
        {
            throw new ArgumentException($"storage on {storage.Backend.Name} is not host memory of the reference backend", nameof(storage));
        }
        return host;
    }
}
