using System.Runtime.InteropServices;

namespace Zoetrope.Runtime;

/// <summary>
/// Host memory: 64-byte aligned native memory owned by the storage, or external memory (a
/// memory-mapped safetensors file) kept alive by an owner object.
/// </summary>
internal sealed unsafe class HostStorage : TensorStorage
{
    private readonly IDisposable? _externalOwner;
    private byte* _ptr;

    /// <summary>Allocates zero-filled, 64-byte aligned host memory.</summary>
    public HostStorage(Backend backend, long byteLength)
        : base(backend, byteLength)
    {
        _ptr = (byte*)NativeMemory.AlignedAlloc((nuint)Math.Max(1, byteLength), 64);
        NativeMemory.Clear(_ptr, (nuint)byteLength);
    }

    /// <summary>Wraps external memory; <paramref name="owner"/> is disposed with the storage.</summary>
    public HostStorage(Backend backend, byte* pointer, long byteLength, IDisposable? owner, bool readOnly)
        : base(backend, byteLength)
    {
        _ptr = pointer;
        _externalOwner = owner;
        IsExternal = true;
        IsReadOnly = readOnly;
    }

    /// <summary>True for memory that must not be written (a read-only file mapping): writes throw instead of faulting.</summary>
    public bool IsReadOnly { get; }

    /// <summary>True when the memory belongs to someone else (read it, do not expect to own it).</summary>
    public bool IsExternal { get; }

    /// <summary>The start of the bytes.</summary>
    public byte* Pointer
    {
        get
        {
            ThrowIfDisposed();
            return _ptr;
        }
    }

    /// <summary>A span over <paramref name="length"/> bytes from <paramref name="byteOffset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the storage.</exception>
    public Span<byte> Bytes(long byteOffset, int length)
    {
        if (byteOffset < 0 || length < 0 || byteOffset + length > ByteLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(byteOffset), $"bytes [{byteOffset}, {byteOffset + length}) outside storage of {ByteLength} bytes");
        }
        return new Span<byte>(Pointer + byteOffset, length);
    }

    /// <inheritdoc />
    protected override void Free()
    {
        if (_externalOwner is not null)
        {
            _externalOwner.Dispose();
        }
        else if (_ptr is not null)
        {
            NativeMemory.AlignedFree(_ptr);
        }
        _ptr = null;
    }
}
