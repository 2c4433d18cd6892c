using System.Runtime.InteropServices;

namespace Zoetrope.Runtime;

/// <summary>
/// A typed, shaped, strided window onto device memory. A tensor either owns its storage (it
/// was allocated) or is a view of another's (slice, transpose, reshape: no copy). Strides and
/// offsets are in elements; data is little-endian. Host copies work for any strides.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly long[] _strides;
    private readonly bool _ownsStorage;
    private Action? _release;

    internal Tensor(string name, DType dtype, Shape shape, long[] strides, long offset, TensorStorage storage, bool ownsStorage, Action? release = null)
    {
        _release = release;
        if (strides.Length != shape.Rank)
        {
            throw new ArgumentException($"tensor '{name}': {strides.Length} strides for shape {shape}", nameof(strides));
        }
        Name = name;
        DType = dtype;
        Shape = shape;
        _strides = strides;
        Offset = offset;
        Storage = storage;
        _ownsStorage = ownsStorage;
        long last = offset;
        for (int i = 0; i < shape.Rank; i++)
        {
            if (strides[i] < 0)
            {
                throw new ArgumentException($"tensor '{name}': negative stride {strides[i]} in dimension {i}", nameof(strides));
            }
            last += shape[i] == 0 ? 0 : (shape[i] - 1) * strides[i];
        }
        if (shape.ElementCount > 0 && (offset < 0 || (last + 1) * dtype.Size() > storage.ByteLength))
        {
            throw new ArgumentException(
                $"tensor '{name}' {shape} at offset {offset} with strides {Shape.Format(strides)} overruns its storage of {storage.ByteLength} bytes",
                nameof(shape));
        }
    }

    /// <summary>The name used in error messages and reports.</summary>
    public string Name { get; }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Extents, outermost first.</summary>
    public Shape Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Rank;

    /// <summary>Strides in elements, one per dimension.</summary>
    public ReadOnlySpan<long> Strides => _strides;

    /// <summary>Offset of element [0, 0, ...] into the storage, in elements.</summary>
    public long Offset { get; }

    /// <summary>Offset of element [0, 0, ...] into the storage, in bytes.</summary>
    public long ByteOffset => Offset * DType.Size();

    /// <summary>The memory behind the tensor (shared by views).</summary>
    internal TensorStorage Storage { get; }

    /// <summary>The backend that owns the memory.</summary>
    public Backend Backend => Storage.Backend;

    /// <summary>Number of elements.</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Bytes the elements occupy when packed.</summary>
    public long ByteCount => ElementCount * DType.Size();

    /// <summary>True when the elements are packed in row-major order (size-1 dimensions ignored).</summary>
    public bool IsContiguous
    {
        get
        {
            long expected = 1;
            for (int i = Rank - 1; i >= 0; i--)
            {
                if (Shape[i] != 1 && _strides[i] != expected)
                {
                    return false;
                }
                expected *= Shape[i];
            }
            return true;
        }
    }

    /// <summary>Allocates a host (reference backend) tensor holding <paramref name="values"/> converted to <paramref name="dtype"/>.</summary>
    public static Tensor FromDoubles(ReadOnlySpan<double> values, DType dtype, Shape shape, string name = "tensor")
    {
        if (values.Length != shape.ElementCount)
        {
            throw new ArgumentException(
                $"tensor '{name}': {values.Length} values for shape {shape} ({shape.ElementCount} elements)", nameof(values));
        }
        var t = Backends.Host.Allocate(dtype, shape, name);
        t.WriteDoubles(values);
        return t;
    }

    /// <summary>Allocates a host tensor holding a copy of <paramref name="data"/>; the dtype follows <typeparamref name="T"/>.</summary>
    public static Tensor FromArray<T>(T[] data, Shape shape, string name = "tensor")
        where T : unmanaged
    {
        var dtype = DTypeOf<T>();
        if (data.Length != shape.ElementCount)
        {
            throw new ArgumentException(
                $"tensor '{name}': {data.Length} elements for shape {shape} ({shape.ElementCount} elements)", nameof(data));
        }
        var t = Backends.Host.Allocate(dtype, shape, name);
        t.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan()));
        return t;
    }

    /// <summary>The dtype that stores elements of <typeparamref name="T"/>.</summary>
    /// <exception cref="ArgumentException">No dtype stores <typeparamref name="T"/>.</exception>
    public static DType DTypeOf<T>()
        where T : unmanaged
    {
        var t = typeof(T);
        if (t == typeof(float)) { return DType.F32; }
        if (t == typeof(double)) { return DType.F64; }
        if (t == typeof(Half)) { return DType.F16; }
        if (t == typeof(BFloat16)) { return DType.BF16; }
        if (t == typeof(sbyte)) { return DType.I8; }
        if (t == typeof(byte)) { return DType.U8; }
        if (t == typeof(int)) { return DType.I32; }
        if (t == typeof(Float8E4M3)) { return DType.F8E4M3; }
        if (t == typeof(Float8E5M2)) { return DType.F8E5M2; }
        throw new ArgumentException($"no dtype stores elements of type {t.Name}", nameof(T));
    }

    /// <summary>A view of <paramref name="length"/> entries of dimension <paramref name="dim"/> from <paramref name="start"/>.</summary>
    public Tensor Slice(int dim, long start, long length, string? name = null)
    {
        CheckDim(dim);
        if (start < 0 || length < 0 || start + length > Shape[dim])
        {
            throw new ArgumentOutOfRangeException(
                nameof(start), $"tensor '{Name}' {Shape}: slice [{start}, {start + length}) of dimension {dim} is out of range");
        }
        var dims = Shape.ToArray();
        dims[dim] = length;
        return new Tensor(name ?? Name, DType, new Shape(dims), (long[])_strides.Clone(),
            Offset + (start * _strides[dim]), Storage, ownsStorage: false);
    }

    /// <summary>A view with dimensions <paramref name="d0"/> and <paramref name="d1"/> swapped.</summary>
    public Tensor Transpose(int d0, int d1, string? name = null)
    {
        CheckDim(d0);
        CheckDim(d1);
        var dims = Shape.ToArray();
        var strides = (long[])_strides.Clone();
        (dims[d0], dims[d1]) = (dims[d1], dims[d0]);
        (strides[d0], strides[d1]) = (strides[d1], strides[d0]);
        return new Tensor(name ?? Name, DType, new Shape(dims), strides, Offset, Storage, ownsStorage: false);
    }

    /// <summary>A view with another shape of the same element count (contiguous tensors only).</summary>
    public Tensor Reshape(Shape shape, string? name = null)
    {
        if (shape.ElementCount != ElementCount)
        {
            throw new ArgumentException(
                $"tensor '{Name}': cannot reshape {Shape} ({ElementCount} elements) to {shape} ({shape.ElementCount} elements)",
                nameof(shape));
        }
        if (!IsContiguous)
        {
            throw new ArgumentException($"tensor '{Name}': cannot reshape a non-contiguous view {Shape}; copy it first", nameof(shape));
        }
        return new Tensor(name ?? Name, DType, shape, shape.ContiguousStrides(), Offset, Storage, ownsStorage: false);
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming this tensor unless it has the given dtype and shape.</summary>
    public void Expect(DType dtype, Shape shape)
    {
        if (DType != dtype)
        {
            throw new ArgumentException($"tensor '{Name}': expected dtype {dtype.Name()}, got {DType.Name()}", Name);
        }
        if (Shape != shape)
        {
            throw new ArgumentException($"tensor '{Name}': expected shape {shape}, got {Shape}", Name);
        }
    }

    /// <summary>The elements as doubles, in row-major logical order (downloads from the device if needed).</summary>
    public double[] ToDoubles()
    {
        var bytes = ToBytes();
        var result = new double[ElementCount];
        ElementConvert.ToDoubles(DType, bytes, result);
        return result;
    }

    /// <summary>
    /// The elements as floats, in row-major logical order, without a double array between: f32
    /// downloads straight into the result (contiguous tensors), f16, bf16 and the FP8 types read
    /// their packed bytes once and decode each element exactly (every value of theirs is a float),
    /// bit for bit what <c>(float)</c> of <see cref="ToDoubles"/> gives.
    /// </summary>
    /// <exception cref="ArgumentException">The dtype is not f32, f16, bf16 or FP8 (a float cannot hold every value).</exception>
    public float[] ToFloats()
    {
        var mini = DType switch
        {
            DType.F32 => null,
            DType.F16 => MiniFloat.F16,
            DType.BF16 => MiniFloat.BF16,
            DType.F8E4M3 => MiniFloat.E4M3,
            DType.F8E5M2 => MiniFloat.E5M2,
            _ => throw new ArgumentException($"tensor '{Name}': dtype {DType.Name()} does not convert to float exactly; read it with ToDoubles", nameof(DType)),
        };
        var result = new float[ElementCount];
        if (mini is null && IsContiguous && ElementCount > 0)
        {
            Storage.ThrowIfDisposed();
            Backend.Download(Storage, ByteOffset, MemoryMarshal.AsBytes(result.AsSpan()));
            return result;
        }
        var bytes = ToBytes();
        if (mini is null)
        {
            MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
        }
        else if (DType.Size() == 2)
        {
            // Little-endian codes, as every host this runs on (and ToArray) reads them.
            var codes = MemoryMarshal.Cast<byte, ushort>(bytes);
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = (float)mini.Decode(codes[i]);
            }
        }
        else
        {
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = (float)mini.Decode(bytes[i]);
            }
        }
        return result;
    }

    /// <summary>The elements reinterpreted as <typeparamref name="T"/>, in row-major logical order.</summary>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        if (Marshal.SizeOf<T>() != DType.Size())
        {
            throw new ArgumentException(
                $"tensor '{Name}': {typeof(T).Name} is {Marshal.SizeOf<T>()} bytes, dtype {DType.Name()} is {DType.Size()}", nameof(T));
        }
        return MemoryMarshal.Cast<byte, T>(ToBytes()).ToArray();
    }

    /// <summary>The packed element bytes in row-major logical order.</summary>
    public byte[] ToBytes()
    {
        Storage.ThrowIfDisposed();
        var packed = new byte[ByteCount];
        if (ElementCount == 0)
        {
            return packed;
        }
        if (IsContiguous)
        {
            Backend.Download(Storage, ByteOffset, packed);
            return packed;
        }
        var (first, span) = CoveringRange();
        var covering = new byte[span];
        Backend.Download(Storage, first, covering);
        Gather(covering, ByteOffset - first, packed);
        return packed;
    }

    /// <summary>Overwrites the elements from packed bytes in row-major logical order.</summary>
    public void CopyFrom(ReadOnlySpan<byte> packed)
    {
        Storage.ThrowIfDisposed();
        if (packed.Length != ByteCount)
        {
            throw new ArgumentException(
                $"tensor '{Name}' {Shape} {DType.Name()}: expected {ByteCount} bytes, got {packed.Length}", nameof(packed));
        }
        if (ElementCount == 0)
        {
            return;
        }
        if (IsContiguous)
        {
            Backend.Upload(Storage, ByteOffset, packed);
            return;
        }
        // Strided destination: read the covering range, scatter into it, write it back, so the
        // bytes between the view's elements are preserved.
        var (first, span) = CoveringRange();
        var covering = new byte[span];
        Backend.Download(Storage, first, covering);
        Scatter(packed, covering, ByteOffset - first);
        Backend.Upload(Storage, first, covering);
    }

    /// <summary>
    /// Copies <paramref name="source"/> (same dtype and shape, any backend, any strides) into this
    /// tensor: on the device, queued on its stream, when both are contiguous on one backend and do
    /// not overlap; through the host otherwise (which also makes an overlapping copy exact).
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Expect(source.DType, source.Shape);
        bool overlap = ReferenceEquals(source.Storage, Storage) &&
            source.ByteOffset < ByteOffset + ByteCount && ByteOffset < source.ByteOffset + source.ByteCount;
        if (ReferenceEquals(source.Backend, Backend) && IsContiguous && source.IsContiguous && !overlap)
        {
            Storage.ThrowIfDisposed();
            source.Storage.ThrowIfDisposed();
            Backend.CopyWithin(source.Storage, source.ByteOffset, Storage, ByteOffset, ByteCount);
            return;
        }
        CopyFrom(source.ToBytes());
    }

    /// <summary>Writes <paramref name="values"/> converted to this tensor's dtype (round to nearest even, see <see cref="ElementConvert"/>).</summary>
    public void WriteDoubles(ReadOnlySpan<double> values)
    {
        if (values.Length != ElementCount)
        {
            throw new ArgumentException($"tensor '{Name}' {Shape}: expected {ElementCount} values, got {values.Length}", nameof(values));
        }
        var packed = new byte[ByteCount];
        ElementConvert.FromDoubles(DType, values, packed);
        CopyFrom(packed);
    }

    /// <summary>A new contiguous copy on <paramref name="backend"/>.</summary>
    public Tensor To(Backend backend, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var copy = backend.Allocate(DType, Shape, name ?? Name);
        copy.CopyFrom(ToBytes());
        return copy;
    }

    /// <summary>A new contiguous copy on <paramref name="backend"/> in <paramref name="dtype"/> (converted through double, round to nearest even, when the dtype differs).</summary>
    public Tensor To(Backend backend, DType dtype, string? name = null)
    {
        if (dtype == DType)
        {
            return To(backend, name);
        }
        using var host = FromDoubles(ToDoubles(), dtype, Shape, name ?? Name);
        return host.To(backend, name);
    }

    /// <summary>Sets every byte the tensor's elements occupy to <paramref name="value"/> (contiguous tensors; used to poison outputs).</summary>
    public void FillBytes(byte value)
    {
        Storage.ThrowIfDisposed();
        if (!IsContiguous)
        {
            var packed = new byte[ByteCount];
            packed.AsSpan().Fill(value);
            CopyFrom(packed);
            return;
        }
        Backend.Fill(Storage, ByteOffset, ByteCount, value);
    }

    /// <summary>Frees the storage if this tensor allocated it, hands a workspace back to its pool (once); views free nothing.</summary>
    public void Dispose()
    {
        if (_ownsStorage)
        {
            Storage.Dispose();
        }
        var release = Interlocked.Exchange(ref _release, null);
        if (release is not null)
        {
            IsReleased = true;
            release();
        }
    }

    /// <summary>True once a workspace tensor went back to its pool: its memory may belong to the next rental.</summary>
    public bool IsReleased { get; private set; }

    /// <summary>Throws if the storage was freed or this workspace tensor was handed back.</summary>
    /// <exception cref="ObjectDisposedException">The tensor can no longer be used.</exception>
    public void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(IsReleased, this);
        Storage.ThrowIfDisposed();
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {DType.Name()}{Shape} on {Backend.Name}";

    private void CheckDim(int dim)
    {
        if (dim < 0 || dim >= Rank)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), $"tensor '{Name}' {Shape} has no dimension {dim}");
        }
    }

    private (long FirstByte, int Length) CoveringRange()
    {
        long lastElement = Offset;
        for (int i = 0; i < Rank; i++)
        {
            lastElement += (Shape[i] - 1) * _strides[i];
        }
        long bytes = (lastElement - Offset + 1) * DType.Size();
        if (bytes > Array.MaxLength)
        {
            throw new NotSupportedException($"tensor '{Name}': a strided host copy of {bytes} bytes exceeds one host array");
        }
        return (ByteOffset, (int)bytes);
    }

    // Walks the logical elements in row-major order, one innermost row at a time; a row is one
    // block copy when its stride is 1. Gather packs a strided view, Scatter unpacks into one.
    private void Gather(ReadOnlySpan<byte> covering, long baseByte, Span<byte> packed) =>
        CopyRows(covering, baseByte, strided: true, packed, 0);

    private void Scatter(ReadOnlySpan<byte> packed, Span<byte> covering, long baseByte) =>
        CopyRows(packed, 0, strided: false, covering, baseByte);

    private void CopyRows(ReadOnlySpan<byte> src, long srcBase, bool strided, Span<byte> dst, long dstBase)
    {
        int size = DType.Size();
        long inner = Rank == 0 ? 1 : Shape[Rank - 1];
        long innerStride = Rank == 0 ? 1 : _strides[Rank - 1];
        long rows = inner == 0 ? 0 : ElementCount / inner;
        var index = new long[Math.Max(0, Rank - 1)];
        for (long row = 0; row < rows; row++)
        {
            long stridedElement = 0;
            for (int d = 0; d < index.Length; d++)
            {
                stridedElement += index[d] * _strides[d];
            }
            long packedByte = row * inner * size;
            if (strided)
            {
                CopyRow(src, srcBase + (stridedElement * size), innerStride, dst, dstBase + packedByte, 1, inner);
            }
            else
            {
                CopyRow(src, srcBase + packedByte, 1, dst, dstBase + (stridedElement * size), innerStride, inner);
            }
            Advance(index);
        }
    }

    private void Advance(long[] index)
    {
        for (int d = index.Length - 1; d >= 0; d--)
        {
            if (++index[d] < Shape[d])
            {
                return;
            }
            index[d] = 0;
        }
    }

    private void CopyRow(ReadOnlySpan<byte> src, long srcByte, long srcStride, Span<byte> dst, long dstByte, long dstStride, long count)
    {
        int size = DType.Size();
        if (srcStride == 1 && dstStride == 1)
        {
            src.Slice((int)srcByte, (int)(count * size)).CopyTo(dst.Slice((int)dstByte, (int)(count * size)));
            return;
        }
        for (long i = 0; i < count; i++)
        {
            src.Slice((int)(srcByte + (i * srcStride * size)), size).CopyTo(dst.Slice((int)(dstByte + (i * dstStride * size)), size));
        }
    }
}
