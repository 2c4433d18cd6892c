using System.Buffers;
using System.IO.Compression;

namespace Zoetrope.Runtime.IO;

/// <summary>One tensor of a PyTorch archive.</summary>
/// <param name="Name">Its key: the nested dict keys joined with '.' (e.g. <c>generator_ema.model.head.head.weight</c>).</param>
/// <param name="DTypeName">PyTorch's name for its dtype (bfloat16, float8_e4m3fn, int64...).</param>
/// <param name="DType">The matching dtype, or null when Zoetrope tensors hold no such values (int64, bool...).</param>
/// <param name="Shape">Its shape.</param>
/// <param name="Record">The archive record holding its storage (<c>archive/data/3</c>).</param>
/// <param name="ByteOffset">Where its bytes start in that record (a storage can be shared by several tensors).</param>
/// <param name="ByteLength">Bytes of data.</param>
public sealed record PyTorchEntry(string Name, string DTypeName, DType? DType, Shape Shape, string Record, long ByteOffset, long ByteLength);

/// <summary>
/// A PyTorch checkpoint as <c>torch.save</c> writes it since 1.6 (<c>.pt</c>, <c>.pth</c>): a zip
/// archive of <c>&lt;name&gt;/data.pkl</c> (the pickled object), <c>&lt;name&gt;/data/&lt;key&gt;</c>
/// (each storage's raw little-endian bytes) and a few small records. The pickle is read by a
/// restricted unpickler that runs nothing: only the globals a state dict needs are allowed, and
/// any other (<c>builtins.eval</c>, <c>os.system</c>, numpy) is a <see cref="ZoetropeFormatException"/>
/// naming it and its offset in data.pkl. Nested dicts are flattened with '.' joined keys (a
/// Self-Forcing checkpoint's <c>{generator: {...}, generator_ema: {...}}</c>); non-tensor leaves
/// (step counters, configs as strings or lists) are skipped and listed in <see cref="NonTensors"/>.
/// Everything is validated when the file opens: each tensor's dtype, a contiguous row-major
/// layout, and its byte range inside its storage and inside the storage's record, so a corrupt
/// file fails at once with the record and byte offset named. Tensors are then read on
/// <see cref="Load"/> (zip records are streamed, not mapped: no zero-copy view).
/// </summary>
public sealed class PyTorchFile : ITensorFile
{
    /// <summary>The largest data.pkl read (a state dict's is kilobytes; this bounds a corrupt one).</summary>
    private const long MaxPickleBytes = 256L << 20;
    private const int MaxDepth = 64;
    // Keys after flattening: a real state dict has a few thousand. Bounded because a tiny pickle
    // can reference one dict from many places (memo), which multiplies the keys it flattens to.
    private const int MaxLeaves = 1_000_000;

    // Deflate's largest expansion (a 258-byte match per 2 bits, rounded up).
    private const long MaxDeflateRatio = 1032;

    // A joined key longer than this is no parameter name (Wan's longest is under 60 characters).
    private const int MaxKeyLength = 4096;
    private const int CopyChunk = 16 << 20;

    private readonly ZipArchive _zip;
    private readonly Dictionary<string, PyTorchEntry> _entries;
    private readonly List<string> _names;
    private readonly object _gate = new();
    private bool _disposed;

    private PyTorchFile(string path, ZipArchive zip, Dictionary<string, PyTorchEntry> entries, List<string> names, IReadOnlyDictionary<string, string> nonTensors)
    {
        Path = path;
        _zip = zip;
        _entries = entries;
        _names = names;
        NonTensors = nonTensors;
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>The tensor names, in the pickle's (the state dict's) order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Every tensor, in the pickle's order.</summary>
    public IReadOnlyList<PyTorchEntry> Entries => _names.Select(n => _entries[n]).ToArray();

    /// <summary>The keys of the non-tensor leaves that were skipped, with what each held ("an int", "a list of 3"...).</summary>
    public IReadOnlyDictionary<string, string> NonTensors { get; }

    /// <summary>True when the file starts like a zip archive (the magic <c>PK\x03\x04</c>).</summary>
    public static bool LooksLikeZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\x03\x04"u8);
    }

    /// <summary>Opens and validates <paramref name="path"/>.</summary>
    /// <exception cref="ZoetropeFormatException">Not a PyTorch zip archive, a disallowed global, or any malformed content (names the record and byte offset).</exception>
    public static PyTorchFile Open(string path)
    {
        var stream = File.OpenRead(path);
        ZipArchive? zip = null;
        try
        {
            CheckMagic(path, stream);
            try
            {
                zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: false);
            }
            catch (Exception e) when (IsZipError(e))
            {
                throw new ZoetropeFormatException(path, 0, $"not a readable zip archive: {e.Message}", e);
            }
            var (entries, names, nonTensors) = ReadIndex(path, zip, stream.Length);
            return new PyTorchFile(path, zip, entries, names, nonTensors);
        }
        catch
        {
            if (zip is not null)
            {
                zip.Dispose();
            }
            else
            {
                stream.Dispose();
            }
            throw;
        }
    }

    /// <summary>The entry named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such tensor; the message lists a few that exist.</exception>
    public PyTorchEntry Entry(string name) =>
        _entries.TryGetValue(name, out var e)
            ? e
            : throw TensorFiles.NoSuchTensor(Path, name, _names);

    TensorFileEntry ITensorFile.Entry(string name)
    {
        var e = Entry(name);
        return new TensorFileEntry(e.Name, e.DTypeName, e.DType, e.Shape, e.ByteLength);
    }

    /// <summary>True when a tensor named <paramref name="name"/> exists.</summary>
    public bool Contains(string name) => _entries.ContainsKey(name);

    /// <summary>An owned copy of the tensor in host memory, read from its record.</summary>
    /// <exception cref="ZoetropeFormatException">Its dtype has no Zoetrope equivalent, or the record cannot be read (corrupt or short).</exception>
    /// <exception cref="ObjectDisposedException">The file was disposed.</exception>
    public Tensor Load(string name)
    {
        var e = Entry(name);
        var dtype = e.DType ?? throw new ZoetropeFormatException(Path, e.ByteOffset, $"in {e.Record}: tensor '{name}' has dtype {e.DTypeName}, which Zoetrope tensors do not hold");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var t = Backends.Host.Allocate(dtype, e.Shape, name);
            long at = 0;
            try
            {
                var zipEntry = _zip.GetEntry(e.Record)!;
                using var s = zipEntry.Open();
                Skip(s, e.ByteOffset, ref at);
                var storage = (HostStorage)t.Storage;
                for (long done = 0; done < e.ByteLength;)
                {
                    int n = (int)Math.Min(CopyChunk, e.ByteLength - done);
                    int got = s.ReadAtLeast(storage.Bytes(t.ByteOffset + done, n), n, throwOnEndOfStream: false);
                    at += got;
                    if (got < n)
                    {
                        throw new ZoetropeFormatException(Path, at, $"in {e.Record}: truncated: tensor '{name}' needs bytes {e.ByteOffset}..{e.ByteOffset + e.ByteLength}, the record ends at {at}");
                    }
                    done += n;
                }
                return t;
            }
            catch (Exception x) when (IsZipError(x))
            {
                t.Dispose();
                throw new ZoetropeFormatException(Path, at, $"in {e.Record}: cannot read tensor '{name}': {x.Message}", x);
            }
            catch
            {
                t.Dispose();
                throw;
            }
        }
    }

    /// <summary>Closes the archive.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            _zip.Dispose();
        }
    }

    // What System.IO.Compression throws for a damaged archive or record (its own checks, and reads
    // past a corrupt header): all of them mean "this file is corrupt", never a bug here.
    private static bool IsZipError(Exception e) =>
        e is InvalidDataException or IOException or NotSupportedException or ArgumentException or OverflowException;

    private static void CheckMagic(string path, FileStream stream)
    {
        Span<byte> head = stackalloc byte[4];
        int n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        stream.Position = 0;
        if (n == 4 && head.SequenceEqual("PK\x03\x04"u8))
        {
            return;
        }
        string what = n > 0 && head[0] == 0x80
            ? "it starts with a bare pickle: PyTorch's legacy format (torch.save before 1.6, or _use_new_zipfile_serialization=False), which is not read; re-save it with a current torch.save"
            : "expected a zip archive (torch.save's format)";
        throw new ZoetropeFormatException(path, 0, $"not a PyTorch zip checkpoint: {what}");
    }

    private static (Dictionary<string, PyTorchEntry>, List<string>, IReadOnlyDictionary<string, string>) ReadIndex(string path, ZipArchive zip, long fileLength)
    {
        var records = new Dictionary<string, long>(StringComparer.Ordinal);
        ZipArchiveEntry? pickle = null;
        try
        {
            foreach (var z in zip.Entries)
            {
                // The sizes in the zip directory are the file's word: bound them by what the bytes
                // can hold (stored records are their own length; deflate expands at most ~1032x),
                // so no later check against them lets a 1 KB file ask for exabytes.
                if (z.CompressedLength < 0 || z.CompressedLength > fileLength || z.Length < 0 || z.Length > z.CompressedLength * MaxDeflateRatio)
                {
                    throw new ZoetropeFormatException(path, 0,
                        $"zip record {z.FullName}: the directory claims {z.Length} bytes from {z.CompressedLength} stored in a file of {fileLength}; no record can hold that");
                }
                records[z.FullName] = z.Length;
                int slash = z.FullName.IndexOf('/', StringComparison.Ordinal);
                if (slash > 0 && z.FullName.AsSpan(slash) is "/data.pkl")
                {
                    if (pickle is not null)
                    {
                        throw new ZoetropeFormatException(path, 0, $"two pickles, {pickle.FullName} and {z.FullName}: one checkpoint per archive");
                    }
                    pickle = z;
                }
            }
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new ZoetropeFormatException(path, 0, $"the zip directory is unreadable: {e.Message}", e);
        }
        if (pickle is null)
        {
            throw new ZoetropeFormatException(path, 0, $"no <name>/data.pkl record in the archive (it has {records.Count}: {string.Join(", ", records.Keys.Take(6))}); not a torch.save checkpoint (TorchScript archives are not read)");
        }
        string prefix = pickle.FullName[..pickle.FullName.IndexOf('/', StringComparison.Ordinal)];
        if (zip.GetEntry(prefix + "/byteorder") is { } order)
        {
            string bo = System.Text.Encoding.ASCII.GetString(ReadRecord(path, order, 64, fileLength)).Trim();
            if (bo != "little")
            {
                throw new ZoetropeFormatException(path, 0, $"in {order.FullName}: byte order '{bo}'; only little-endian storages are read");
            }
        }
        var data = ReadRecord(path, pickle, MaxPickleBytes, fileLength);
        var root = PickleMachine.Load(data, path, pickle.FullName, new PyTorchPickle(path, pickle.FullName, prefix, records));
        if (root is not PickleDict dict)
        {
            throw new ZoetropeFormatException(path, 0, $"in {pickle.FullName}: the checkpoint holds {PickleMachine.Describe(root)}, not a dict of tensors");
        }
        var flat = new Flattener(path, pickle.FullName);
        flat.Walk(dict, string.Empty, 0);
        return (flat.Entries, flat.Names, flat.NonTensors);
    }

    /// <summary>A small record read whole, with its size capped by what actually arrives (a corrupt size field allocates nothing).</summary>
    private static byte[] ReadRecord(string path, ZipArchiveEntry entry, long max, long fileLength)
    {
        try
        {
            if (entry.Length > max)
            {
                throw new ZoetropeFormatException(path, 0, $"in {entry.FullName}: {entry.Length} bytes, more than the {max} this reader takes");
            }
            if (entry.CompressedLength > fileLength)
            {
                throw new ZoetropeFormatException(path, 0, $"in {entry.FullName}: {entry.CompressedLength} stored bytes in a file of {fileLength}");
            }
            using var s = entry.Open();
            using var ms = new MemoryStream();
            var buffer = ArrayPool<byte>.Shared.Rent(81920);
            try
            {
                int n;
                while ((n = s.Read(buffer, 0, buffer.Length)) > 0)
                {
                    ms.Write(buffer, 0, n);
                    if (ms.Length > entry.Length)
                    {
                        break;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            if (ms.Length != entry.Length)
            {
                throw new ZoetropeFormatException(path, ms.Length, $"in {entry.FullName}: the zip directory says {entry.Length} bytes, the record holds {(ms.Length > entry.Length ? "more" : ms.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }
            return ms.ToArray();
        }
        catch (Exception e) when (IsZipError(e))
        {
            throw new ZoetropeFormatException(path, 0, $"in {entry.FullName}: unreadable: {e.Message}", e);
        }
    }

    private static void Skip(Stream s, long bytes, ref long at)
    {
        if (bytes == 0)
        {
            return;
        }
        if (s.CanSeek)
        {
            s.Seek(bytes, SeekOrigin.Current);
            at += bytes;
            return;
        }
        var scratch = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            while (bytes > 0)
            {
                int n = s.Read(scratch, 0, (int)Math.Min(scratch.Length, bytes));
                if (n == 0)
                {
                    throw new EndOfStreamException($"the record ends at byte {at}");
                }
                bytes -= n;
                at += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Walks the pickled dicts into '.'-joined keys: tensors are checked and listed, dicts are
    /// entered (a dict inside itself is refused; depth and leaf count are capped), anything else is
    /// a skipped leaf whose key is kept.
    /// </summary>
    private sealed class Flattener(string path, string pickleRecord)
    {
        // Every dict ever entered, not only the ones on the current path: a dict reached twice
        // (through the memo) would be walked again, and a few KB of pickle could then multiply
        // into millions of ever longer keys. A state dict is a tree; anything else is refused.
        private readonly HashSet<PickleDict> _seen = new(ReferenceEqualityComparer.Instance);
        private int _leaves;

        public Dictionary<string, PyTorchEntry> Entries { get; } = new(StringComparer.Ordinal);

        public List<string> Names { get; } = [];

        public Dictionary<string, string> NonTensors { get; } = new(StringComparer.Ordinal);

        public void Walk(PickleDict dict, string prefix, int depth)
        {
            if (depth > MaxDepth || !_seen.Add(dict))
            {
                throw new ZoetropeFormatException(path, 0,
                    $"in {pickleRecord}: dict '{Clip(prefix.TrimEnd('.'))}' {(depth > MaxDepth ? $"nests deeper than {MaxDepth}" : "is reached twice (a state dict is a tree; this one contains itself or is shared)")}");
            }
            foreach (var (k, v) in dict.Items)
            {
                string key = prefix + k switch
                {
                    string s => s,
                    long l => l.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    bool b => b ? "True" : "False",
                    _ => throw new ZoetropeFormatException(path, 0, $"in {pickleRecord}: a key under '{prefix.TrimEnd('.')}' is {PickleMachine.Describe(k)}, not a string or int"),
                };
                if (key.Length > MaxKeyLength)
                {
                    throw new ZoetropeFormatException(path, 0, $"in {pickleRecord}: key '{Clip(key)}' is {key.Length} characters long after nested keys are joined (at most {MaxKeyLength})");
                }
                if (++_leaves > MaxLeaves)
                {
                    throw new ZoetropeFormatException(path, 0, $"in {pickleRecord}: more than {MaxLeaves} keys");
                }
                if (Entries.ContainsKey(key) || NonTensors.ContainsKey(key))
                {
                    throw new ZoetropeFormatException(path, 0, $"in {pickleRecord}: key '{key}' appears twice after nested keys are joined with '.'");
                }
                switch (v)
                {
                    case TorchTensorRef t:
                        Entries[key] = Check(key, t);
                        Names.Add(key);
                        break;
                    case PickleDict d:
                        Walk(d, key + ".", depth + 1);
                        break;
                    default:
                        NonTensors[key] = PickleMachine.Describe(v);
                        break;
                }
            }
        }

        private static string Clip(string key) => key.Length <= 80 ? key : key[..80] + "...";

        private PyTorchEntry Check(string key, TorchTensorRef t)
        {
            var el = t.Element;
            var st = t.Storage;
            long count = 1;
            foreach (long d in t.Size)
            {
                if (d < 0)
                {
                    throw Fail(t, $"tensor '{key}': size {Format(t.Size)} has a negative dim");
                }
                if (d != 0 && count > long.MaxValue / el.Size / d)
                {
                    throw Fail(t, $"tensor '{key}': size {Format(t.Size)} overflows 64 bits");
                }
                count *= d;
            }
            if (count > 0)
            {
                // Row-major contiguity; a dim of size 1 may carry any stride (PyTorch leaves it arbitrary).
                long expected = 1;
                for (int i = t.Size.Length - 1; i >= 0; i--)
                {
                    if (t.Size[i] != 1 && t.Stride[i] != expected)
                    {
                        throw Fail(t, $"tensor '{key}' is not contiguous: size {Format(t.Size)}, stride {Format(t.Stride)} (row-major needs stride {expected} in dim {i}); save it with .contiguous()");
                    }
                    expected *= t.Size[i];
                }
            }
            long bytes = count * el.Size;
            if (t.StorageOffset > (long.MaxValue - bytes) / el.Size)
            {
                throw Fail(t, $"tensor '{key}': storage offset {t.StorageOffset} overflows 64 bits");
            }
            long begin = t.StorageOffset * el.Size, end = begin + bytes;
            if (end > st.ByteLength)
            {
                throw Fail(t, $"tensor '{key}' ({el.TorchName}{Format(t.Size)} at element {t.StorageOffset}) needs bytes {begin}..{end} of storage '{st.Key}', which has {st.ByteLength}");
            }
            if (st.ByteLength > st.RecordLength)
            {
                throw new ZoetropeFormatException(path, st.RecordLength,
                    $"in {st.Record}: truncated: storage '{st.Key}' ({st.Type.Name}) declares {st.ByteLength} bytes, the record holds {st.RecordLength} (tensor '{key}' needs bytes {begin}..{end})");
            }
            return new PyTorchEntry(key, el.TorchName, el.DType, new Shape(t.Size), st.Record, begin, bytes);
        }

        private ZoetropeFormatException Fail(TorchTensorRef t, string message) => PickleMachine.Error(path, pickleRecord, t.PickleOffset, message);

        private static string Format(long[] dims) => "(" + string.Join(", ", dims) + ")";
    }
}
