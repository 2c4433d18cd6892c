using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Zoetrope.Runtime.IO;

/// <summary>
/// A safetensors file, memory-mapped read-only. The header is validated as a whole when the file
/// opens (8-byte little-endian header size, a JSON object, every entry's dtype, shape and offsets,
/// sizes matching shapes, and a data section indexed completely, without overlaps or holes), so a
/// corrupt file fails at once with a <see cref="ZoetropeFormatException"/> naming the byte offset.
/// <see cref="View"/> returns zero-copy tensors over the mapping: each holds a lease on it, so the
/// mapping lives until the file and every view are disposed (a view never reads freed memory).
/// </summary>
public sealed unsafe class SafeTensorsFile : IDisposable
{
    private const long MaxHeaderBytes = 100L << 20;
    private readonly MemoryMappedFile _map;
    private readonly MemoryMappedViewAccessor _accessor;
    private readonly byte* _base;
    private readonly Dictionary<string, SafeTensorsEntry> _entries;
    private readonly object _gate = new();
    private int _leases = 1;
    private bool _disposed;

    private SafeTensorsFile(string path, MemoryMappedFile map, MemoryMappedViewAccessor accessor, byte* basePtr,
        Dictionary<string, SafeTensorsEntry> entries, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        _map = map;
        _accessor = accessor;
        _base = basePtr;
        _entries = entries;
        Metadata = metadata;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The tensor names, in data order.</summary>
    public IReadOnlyList<string> Names => _entries.Values.OrderBy(e => e.FileOffset).Select(e => e.Name).ToArray();

    /// <summary>Every entry, in data order.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries => _entries.Values.OrderBy(e => e.FileOffset).ToArray();

    /// <summary>The string map under "__metadata__" (empty when absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="ZoetropeFormatException">The file is truncated or its header is invalid.</exception>
    public static SafeTensorsFile Open(string path)
    {
        long length = new FileInfo(path).Length;
        if (length < 8)
        {
            throw new ZoetropeFormatException(path, length, $"truncated: {length} bytes, a safetensors file starts with an 8-byte header size");
        }
        byte[] header;
        using (var stream = File.OpenRead(path))
        {
            Span<byte> size = stackalloc byte[8];
            stream.ReadExactly(size);
            ulong n = BinaryPrimitives.ReadUInt64LittleEndian(size);
            if (n > (ulong)(length - 8) || n > MaxHeaderBytes)
            {
                throw new ZoetropeFormatException(path, 0, $"header size {n} exceeds the file ({length - 8} bytes after the size field) or {MaxHeaderBytes} bytes");
            }
            header = new byte[n];
            stream.ReadExactly(header);
        }
        var (entries, metadata) = ParseHeader(path, header, dataStart: 8 + header.Length, dataLength: length - 8 - header.Length);
        var map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor? accessor = null;
        try
        {
            accessor = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* ptr = null;
            accessor.SafeMemoryMappedViewHandle.AcquirePointer(ref ptr);
            return new SafeTensorsFile(path, map, accessor, ptr + accessor.PointerOffset, entries, metadata);
        }
        catch
        {
            accessor?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such tensor; the message lists a few that exist.</exception>
    public SafeTensorsEntry Entry(string name) =>
        _entries.TryGetValue(name, out var e)
            ? e
            : throw TensorFiles.NoSuchTensor(Path, name, Names);

    /// <summary>True when a tensor named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>A zero-copy, read-only host tensor over the mapped data (writes throw). It keeps the mapping alive until disposed.</summary>
    /// <exception cref="ZoetropeFormatException">The tensor's dtype has no Zoetrope equivalent.</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public Tensor View(string name)
    {
        var e = Entry(name);
        var dtype = Supported(e);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _leases++;
        }
        return Backends.Host.Wrap(dtype, e.Shape, _base + e.FileOffset, e.ByteLength, new Lease(this), name, readOnly: true);
    }

    /// <summary>An owned copy of the tensor in host memory.</summary>
    public Tensor Load(string name)
    {
        var e = Entry(name);
        var dtype = Supported(e);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
        }
        var t = Backends.Host.Allocate(dtype, e.Shape, name);
        t.CopyFrom(new ReadOnlySpan<byte>(_base + e.FileOffset, checked((int)e.ByteLength)));
        return t;
    }

    /// <summary>Closes the file; the mapping goes when the last view is disposed too.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
        }
        Release();
    }

    private DType Supported(SafeTensorsEntry e) =>
        e.DType ?? throw new ZoetropeFormatException(Path, e.FileOffset, $"tensor '{e.Name}' has dtype {e.DTypeName}, which Zoetrope tensors do not hold");

    private void Release()
    {
        lock (_gate)
        {
            if (--_leases > 0)
            {
                return;
            }
        }
        _accessor.SafeMemoryMappedViewHandle.ReleasePointer();
        _accessor.Dispose();
        _map.Dispose();
    }

    private static (Dictionary<string, SafeTensorsEntry>, IReadOnlyDictionary<string, string>) ParseHeader(string path, byte[] header, long dataStart, long dataLength)
    {
        try
        {
            // JSON strings are decoded lazily; check the encoding once, with the exact offset.
            new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(header);
        }
        catch (System.Text.DecoderFallbackException e)
        {
            throw new ZoetropeFormatException(path, 8 + Math.Max(0, e.Index), "the header is not valid UTF-8", e);
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new ZoetropeFormatException(path, 8 + (e.BytePositionInLine ?? 0), $"the header is not valid JSON: {e.Message}", e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ZoetropeFormatException(path, 8, "the header is not a JSON object");
            }
            var entries = new Dictionary<string, SafeTensorsEntry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw new ZoetropeFormatException(path, 8, "__metadata__ is not an object");
                    }
                    foreach (var m in prop.Value.EnumerateObject())
                    {
                        if (m.Value.ValueKind != JsonValueKind.String)
                        {
                            throw new ZoetropeFormatException(path, 8, $"__metadata__ value '{m.Name}' is not a string");
                        }
                        metadata[m.Name] = m.Value.GetString()!;
                    }
                    continue;
                }
                if (entries.ContainsKey(prop.Name))
                {
                    throw new ZoetropeFormatException(path, 8, $"tensor '{prop.Name}' is listed twice");
                }
                entries[prop.Name] = ParseEntry(path, prop, dataStart, dataLength);
            }
            CheckCoverage(path, entries.Values, dataStart, dataLength);
            return (entries, metadata);
        }
    }

    private static SafeTensorsEntry ParseEntry(string path, JsonProperty prop, long dataStart, long dataLength)
    {
        string name = prop.Name;
        var v = prop.Value;
        if (v.ValueKind != JsonValueKind.Object)
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': entry is not an object");
        }
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': no dtype string");
        }
        string dtypeName = dt.GetString()!;
        if (!SafeTensorsDTypes.TryGet(dtypeName, out int size, out var dtype))
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': unknown dtype '{dtypeName}'");
        }
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': no shape array");
        }
        var dims = new List<long>();
        long count = 1;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long n) || n < 0)
            {
                throw new ZoetropeFormatException(path, 8, $"tensor '{name}': shape entry {d} is not a non-negative integer");
            }
            if (n != 0 && count > long.MaxValue / n / size)
            {
                throw new ZoetropeFormatException(path, 8, $"tensor '{name}': shape overflows 64 bits");
            }
            count *= n;
            dims.Add(n);
        }
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': data_offsets is not a [begin, end] pair");
        }
        if (!off[0].TryGetInt64(out long begin) || !off[1].TryGetInt64(out long end) || begin < 0 || end < begin)
        {
            throw new ZoetropeFormatException(path, 8, $"tensor '{name}': data_offsets {off} are not 0 <= begin <= end");
        }
        if (end > dataLength)
        {
            throw new ZoetropeFormatException(path, dataStart + dataLength,
                $"truncated: tensor '{name}' ends at data byte {end} (file byte {dataStart + end}), the data section has {dataLength} bytes");
        }
        if (end - begin != count * size)
        {
            throw new ZoetropeFormatException(path, dataStart + begin,
                $"tensor '{name}': {dtypeName}{Shape.Format([.. dims])} needs {count * size} bytes, data_offsets give {end - begin}");
        }
        return new SafeTensorsEntry(name, dtypeName, dtype, new Shape([.. dims]), dataStart + begin, end - begin);
    }

    private static void CheckCoverage(string path, IEnumerable<SafeTensorsEntry> entries, long dataStart, long dataLength)
    {
        long next = dataStart;
        foreach (var e in entries.OrderBy(e => e.FileOffset).ThenBy(e => e.ByteLength))
        {
            if (e.FileOffset < next)
            {
                throw new ZoetropeFormatException(path, e.FileOffset, $"tensor '{e.Name}' overlaps the tensor before it");
            }
            if (e.FileOffset > next)
            {
                throw new ZoetropeFormatException(path, next, $"bytes {next}..{e.FileOffset} of the data section belong to no tensor (the format allows no holes)");
            }
            next = e.FileOffset + e.ByteLength;
        }
        if (next != dataStart + dataLength)
        {
            throw new ZoetropeFormatException(path, next, $"{dataStart + dataLength - next} bytes after the last tensor belong to no tensor");
        }
    }

    private sealed class Lease(SafeTensorsFile file) : IDisposable
    {
        private SafeTensorsFile? _file = file;

        public void Dispose()
        {
            Interlocked.Exchange(ref _file, null)?.Release();
        }
    }
}
