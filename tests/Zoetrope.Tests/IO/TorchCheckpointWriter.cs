// A test-side writer of PyTorch checkpoints, from the format's definition (no Python): the
// protocol-2 pickle torch.save emits for a state dict (GLOBAL collections.OrderedDict + REDUCE,
// tensors as GLOBAL torch._utils._rebuild_tensor_v2 over a BINPERSID ('storage', GLOBAL
// torch.<X>Storage, key, 'cpu', numel) tuple, fp8 as _rebuild_tensor_v3 over torch.UntypedStorage
// with a torch.float8_e4m3fn dtype global, BINPUT after each memoized object and BINGET for
// repeats), and the zip layout <name>/data.pkl, <name>/byteorder, <name>/data/<key>,
// <name>/version, <name>/.data/serialization_id, stored uncompressed.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.IO;

/// <summary>An ordered dict: what a state dict is.</summary>
public sealed class PtDict(params (object Key, object Value)[] items)
{
    public (object Key, object Value)[] Items { get; } = items;

    /// <summary>Pickled as a plain dict (EMPTY_DICT) rather than an OrderedDict (the outer dict of a training checkpoint).</summary>
    public bool Plain { get; init; }
}

/// <summary>A tensor over a storage.</summary>
public sealed record PtTensor(string StorageKey, string StorageClass, long StorageNumel, long Offset, long[] Size, long[] Stride, string? V3DType = null);

/// <summary>A call of any global, for hostile pickles: GLOBAL (or STACK_GLOBAL) then the args tuple and REDUCE.</summary>
public sealed record PtCall(string Module, string Name, object[] Args, bool StackGlobal = false);

/// <summary>A Python list.</summary>
public sealed record PtList(params object[] Items);

internal sealed class TorchCheckpointWriter
{
    private readonly MemoryStream _o = new();
    private readonly Dictionary<string, int> _memo = new(StringComparer.Ordinal);
    private int _next;

    /// <summary>The storages written as data/&lt;key&gt;.</summary>
    public Dictionary<string, byte[]> Storages { get; } = new(StringComparer.Ordinal);

    /// <summary>A tensor holding <paramref name="t"/>'s bytes in a storage of its own.</summary>
    public PtTensor Add(Tensor t)
    {
        string key = Storages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Storages[key] = t.ToBytes();
        var size = t.Shape.ToArray();
        var stride = new long[size.Length];
        long s = 1;
        for (int i = size.Length - 1; i >= 0; i--)
        {
            stride[i] = s;
            s *= size[i];
        }
        return t.DType switch
        {
            DType.F8E4M3 => new PtTensor(key, "UntypedStorage", t.ByteCount, 0, size, stride, "float8_e4m3fn"),
            DType.F8E5M2 => new PtTensor(key, "UntypedStorage", t.ByteCount, 0, size, stride, "float8_e5m2"),
            _ => new PtTensor(key, StorageClassOf(t.DType), t.ElementCount, 0, size, stride),
        };
    }

    public static string StorageClassOf(DType d) => d switch
    {
        DType.F32 => "FloatStorage",
        DType.F16 => "HalfStorage",
        DType.BF16 => "BFloat16Storage",
        DType.I8 => "CharStorage",
        DType.U8 => "ByteStorage",
        DType.I32 => "IntStorage",
        DType.F64 => "DoubleStorage",
        _ => throw new ArgumentException(d.ToString()),
    };

    /// <summary>The protocol-2 pickle of <paramref name="root"/>.</summary>
    public byte[] Pickle(object root)
    {
        _o.SetLength(0);
        _memo.Clear();
        _next = 0;
        _o.WriteByte(0x80);
        _o.WriteByte(2);
        Save(root);
        _o.WriteByte((byte)'.');
        return _o.ToArray();
    }

    /// <summary>Writes the archive: the pickle, the storages (each may be replaced, e.g. cut short), the small records.</summary>
    public void WriteZip(string path, byte[] pickle, string name = "archive", IReadOnlyDictionary<string, byte[]>? storages = null)
    {
        using var f = File.Create(path);
        using var zip = new ZipArchive(f, ZipArchiveMode.Create);
        void Record(string entry, byte[] bytes)
        {
            using var s = zip.CreateEntry($"{name}/{entry}", CompressionLevel.NoCompression).Open();
            s.Write(bytes);
        }
        Record("data.pkl", pickle);
        Record("byteorder", "little"u8.ToArray());
        foreach (var (key, bytes) in storages ?? Storages)
        {
            Record($"data/{key}", bytes);
        }
        Record("version", "3\n"u8.ToArray());
        Record(".data/serialization_id", "1234567890123456789012345678901234567890"u8.ToArray());
    }

    private void Save(object v)
    {
        switch (v)
        {
            case PtDict d:
                if (d.Plain)
                {
                    _o.WriteByte((byte)'}');
                }
                else
                {
                    Global("collections", "OrderedDict");
                    _o.WriteByte((byte)')');
                    _o.WriteByte((byte)'R');
                }
                Put();
                if (d.Items.Length > 0)
                {
                    _o.WriteByte((byte)'(');
                    foreach (var (k, val) in d.Items)
                    {
                        Save(k);
                        Save(val);
                    }
                    _o.WriteByte((byte)'u');
                }
                if (!d.Plain)
                {
                    // A state dict's _metadata attribute, set by BUILD, as torch.save writes it.
                    _o.WriteByte((byte)'}');
                    Put();
                    Str("_metadata");
                    Global("collections", "OrderedDict");
                    _o.WriteByte((byte)')');
                    _o.WriteByte((byte)'R');
                    Put();
                    _o.WriteByte((byte)'s');
                    _o.WriteByte((byte)'b');
                }
                break;
            case PtTensor t:
                Global("torch._utils", t.V3DType is null ? "_rebuild_tensor_v2" : "_rebuild_tensor_v3");
                _o.WriteByte((byte)'(');
                string pidKey = "pid:" + t.StorageKey;
                if (_memo.TryGetValue(pidKey, out int at))
                {
                    Get(at);
                }
                else
                {
                    _o.WriteByte((byte)'(');
                    Str("storage");
                    Global("torch", t.StorageClass);
                    Str(t.StorageKey);
                    Str("cpu");
                    Int(t.StorageNumel);
                    _o.WriteByte((byte)'t');
                    Put();
                    _o.WriteByte((byte)'Q');
                    _memo[pidKey] = Put();
                }
                Int(t.Offset);
                Tuple(t.Size.Cast<object>().ToArray());
                Tuple(t.Stride.Cast<object>().ToArray());
                _o.WriteByte(0x89); // requires_grad False
                Global("collections", "OrderedDict");
                _o.WriteByte((byte)')');
                _o.WriteByte((byte)'R');
                Put();
                if (t.V3DType is not null)
                {
                    Global("torch", t.V3DType);
                }
                _o.WriteByte((byte)'t');
                Put();
                _o.WriteByte((byte)'R');
                Put();
                break;
            case PtCall c:
                if (c.StackGlobal)
                {
                    Str(c.Module);
                    Str(c.Name);
                    _o.WriteByte(0x93);
                    Put();
                }
                else
                {
                    Global(c.Module, c.Name);
                }
                Tuple(c.Args);
                _o.WriteByte((byte)'R');
                Put();
                break;
            case PtList l:
                _o.WriteByte((byte)']');
                Put();
                if (l.Items.Length > 0)
                {
                    _o.WriteByte((byte)'(');
                    foreach (var item in l.Items)
                    {
                        Save(item);
                    }
                    _o.WriteByte((byte)'e');
                }
                break;
            case string s:
                Str(s);
                break;
            case long or int:
                Int(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture));
                break;
            case double d:
                _o.WriteByte((byte)'G');
                Span<byte> b = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(b, d);
                _o.Write(b);
                break;
            case bool flag:
                _o.WriteByte(flag ? (byte)0x88 : (byte)0x89);
                break;
            case null:
                _o.WriteByte((byte)'N');
                break;
            default:
                throw new ArgumentException(v.GetType().Name);
        }
    }

    private void Tuple(object[] items)
    {
        if (items.Length == 0)
        {
            _o.WriteByte((byte)')');
            return; // the empty tuple is a singleton: Python does not memoize it
        }
        if (items.Length <= 3)
        {
            foreach (var i in items)
            {
                Save(i);
            }
            _o.WriteByte((byte)(0x84 + items.Length));
        }
        else
        {
            _o.WriteByte((byte)'(');
            foreach (var i in items)
            {
                Save(i);
            }
            _o.WriteByte((byte)'t');
        }
        Put();
    }

    private void Global(string module, string name)
    {
        string key = $"global:{module}.{name}";
        if (_memo.TryGetValue(key, out int at))
        {
            Get(at);
            return;
        }
        _o.WriteByte((byte)'c');
        _o.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        _memo[key] = Put();
    }

    private void Str(string s)
    {
        string key = "str:" + s;
        if (_memo.TryGetValue(key, out int at))
        {
            Get(at);
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(s);
        _o.WriteByte((byte)'X');
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(n, bytes.Length);
        _o.Write(n);
        _o.Write(bytes);
        _memo[key] = Put();
    }

    private void Int(long v)
    {
        if (v is >= 0 and < 256)
        {
            _o.WriteByte((byte)'K');
            _o.WriteByte((byte)v);
        }
        else if (v is >= 0 and < 65536)
        {
            _o.WriteByte((byte)'M');
            _o.WriteByte((byte)v);
            _o.WriteByte((byte)(v >> 8));
        }
        else if (v is >= int.MinValue and <= int.MaxValue)
        {
            _o.WriteByte((byte)'J');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, (int)v);
            _o.Write(b);
        }
        else
        {
            // LONG1: the shortest two's complement little-endian form.
            var bytes = new System.Numerics.BigInteger(v).ToByteArray();
            _o.WriteByte(0x8a);
            _o.WriteByte((byte)bytes.Length);
            _o.Write(bytes);
        }
    }

    private int Put()
    {
        int id = _next++;
        if (id < 256)
        {
            _o.WriteByte((byte)'q');
            _o.WriteByte((byte)id);
        }
        else
        {
            _o.WriteByte((byte)'r');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, id);
            _o.Write(b);
        }
        return id;
    }

    private void Get(int id)
    {
        if (id < 256)
        {
            _o.WriteByte((byte)'h');
            _o.WriteByte((byte)id);
        }
        else
        {
            _o.WriteByte((byte)'j');
            Span<byte> b = stackalloc byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(b, id);
            _o.Write(b);
        }
    }
}
