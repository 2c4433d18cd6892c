using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Zoetrope.Runtime.IO;

/// <summary>
/// A restricted unpickler: it runs the opcodes that build plain data (dicts, lists, tuples,
/// strings, numbers) and hands the rest to an <see cref="IPickleHost"/>: every global must be on
/// the host's allow-list, and "calling" one is the host building a value it knows, never a Python
/// function. Nothing is imported, looked up by reflection or executed. Every length read from the
/// data is checked against the bytes that remain before anything is allocated, the stack and memo
/// grow at most one entry per opcode byte, and there is no recursion, so a corrupt or hostile
/// pickle ends in a <see cref="ZoetropeFormatException"/> naming the byte offset, never a hang
/// or an out-of-memory.
/// </summary>
internal sealed class PickleMachine
{
    private const int MaxGlobalLine = 256;
    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    private readonly byte[] _data;
    private readonly string _file;
    private readonly string _entry;
    private readonly IPickleHost _host;
    private readonly List<object> _stack = [];
    private readonly List<int> _marks = [];
    private readonly Dictionary<long, object> _memo = [];
    private int _pos;
    private long _op;

    private PickleMachine(byte[] data, string file, string entry, IPickleHost host)
    {
        _data = data;
        _file = file;
        _entry = entry;
        _host = host;
    }

    /// <summary>Runs the pickle in <paramref name="data"/> to its STOP and returns the object it built.</summary>
    /// <param name="data">The pickle bytes.</param>
    /// <param name="file">The file named in errors.</param>
    /// <param name="entry">The record inside the file (e.g. <c>archive/data.pkl</c>), named in errors; offsets are within it.</param>
    /// <param name="host">The allow-list and the builders of allowed globals.</param>
    /// <exception cref="ZoetropeFormatException">Any malformed, unknown or disallowed content.</exception>
    public static object Load(byte[] data, string file, string entry, IPickleHost host) =>
        new PickleMachine(data, file, entry, host).Run();

    /// <summary>An error at the current opcode's offset.</summary>
    public static ZoetropeFormatException Error(string file, string entry, long offset, string message) =>
        new(file, offset, $"in {entry}: {message}");

    private ZoetropeFormatException Fail(string message) => Error(_file, _entry, _op, message);

    private object Run()
    {
        while (true)
        {
            if (_pos >= _data.Length)
            {
                throw Error(_file, _entry, _data.Length, $"the pickle ends after {_data.Length} bytes without a STOP opcode (truncated)");
            }
            _op = _pos;
            byte code = _data[_pos++];
            switch (code)
            {
                case 0x80: // PROTO
                {
                    int v = U8();
                    if (v > 5)
                    {
                        throw Fail($"pickle protocol {v} is newer than 5");
                    }
                    break;
                }
                case 0x95: // FRAME: a length hint only; the opcodes inside are read as they come
                {
                    ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
                    if (n > (ulong)(_data.Length - _pos))
                    {
                        throw Fail($"FRAME of {n} bytes, only {_data.Length - _pos} remain");
                    }
                    break;
                }
                case (byte)'.': // STOP
                    return Pop("STOP");
                case (byte)'(': // MARK
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'}': // EMPTY_DICT
                    _stack.Add(new PickleDict());
                    break;
                case (byte)']': // EMPTY_LIST
                    _stack.Add(new PickleList());
                    break;
                case (byte)')': // EMPTY_TUPLE
                    _stack.Add(new PickleTuple([]));
                    break;
                case (byte)'t': // TUPLE
                    _stack.Add(new PickleTuple(PopMark("TUPLE")));
                    break;
                case 0x85: // TUPLE1
                case 0x86: // TUPLE2
                case 0x87: // TUPLE3
                {
                    int n = code - 0x84;
                    Need(n, "TUPLE" + n);
                    var items = _stack.GetRange(_stack.Count - n, n).ToArray();
                    _stack.RemoveRange(_stack.Count - n, n);
                    _stack.Add(new PickleTuple(items));
                    break;
                }
                case (byte)'d': // DICT (protocol 0/1 form)
                {
                    var d = new PickleDict();
                    SetItems(d, PopMark("DICT"));
                    _stack.Add(d);
                    break;
                }
                case (byte)'l': // LIST (protocol 0/1 form)
                {
                    var l = new PickleList();
                    l.Items.AddRange(PopMark("LIST"));
                    _stack.Add(l);
                    break;
                }
                case (byte)'s': // SETITEM
                {
                    Need(3, "SETITEM");
                    object value = Pop("SETITEM"), key = Pop("SETITEM");
                    SetItems(Top<PickleDict>("SETITEM"), [key, value]);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark("SETITEMS");
                    SetItems(Top<PickleDict>("SETITEMS"), items);
                    break;
                }
                case (byte)'a': // APPEND
                {
                    Need(2, "APPEND");
                    object value = Pop("APPEND");
                    Top<PickleList>("APPEND").Items.Add(value);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopMark("APPENDS");
                    Top<PickleList>("APPENDS").Items.AddRange(items);
                    break;
                }
                case (byte)'J': // BININT
                    _stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
                    break;
                case (byte)'K': // BININT1
                    _stack.Add((long)U8());
                    break;
                case (byte)'M': // BININT2
                    _stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2)));
                    break;
                case 0x8a: // LONG1
                    _stack.Add(Long(Take(U8())));
                    break;
                case 0x8b: // LONG4
                    _stack.Add(Long(Take(Length(BinaryPrimitives.ReadInt32LittleEndian(Take(4)), "LONG4"))));
                    break;
                case (byte)'G': // BINFLOAT (big-endian)
                    _stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8)));
                    break;
                case 0x88: // NEWTRUE
                    _stack.Add(true);
                    break;
                case 0x89: // NEWFALSE
                    _stack.Add(false);
                    break;
                case (byte)'N': // NONE
                    _stack.Add(PickleNone.Value);
                    break;
                case 0x8c: // SHORT_BINUNICODE
                    _stack.Add(Utf8(Take(U8())));
                    break;
                case (byte)'X': // BINUNICODE
                    _stack.Add(Utf8(Take(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "BINUNICODE"))));
                    break;
                case 0x8d: // BINUNICODE8
                    _stack.Add(Utf8(Take(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), "BINUNICODE8"))));
                    break;
                case (byte)'C': // SHORT_BINBYTES
                    _stack.Add(Take(U8()).ToArray());
                    break;
                case (byte)'B': // BINBYTES
                    _stack.Add(Take(Length(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)), "BINBYTES")).ToArray());
                    break;
                case 0x8e: // BINBYTES8
                    _stack.Add(Take(Length(BinaryPrimitives.ReadUInt64LittleEndian(Take(8)), "BINBYTES8")).ToArray());
                    break;
                case (byte)'q': // BINPUT
                    Put(U8());
                    break;
                case (byte)'r': // LONG_BINPUT
                    Put(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                    break;
                case 0x94: // MEMOIZE
                    Put(_memo.Count);
                    break;
                case (byte)'h': // BINGET
                    Get(U8());
                    break;
                case (byte)'j': // LONG_BINGET
                    Get(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)));
                    break;
                case (byte)'c': // GLOBAL: "module\nname\n"
                {
                    string module = Line(), name = Line();
                    _stack.Add(_host.Global(module, name, _op));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    Need(2, "STACK_GLOBAL");
                    object name = Pop("STACK_GLOBAL"), module = Pop("STACK_GLOBAL");
                    if (module is not string m || name is not string n)
                    {
                        throw Fail($"STACK_GLOBAL needs two strings, got {Describe(module)} and {Describe(name)}");
                    }
                    _stack.Add(_host.Global(m, n, _op));
                    break;
                }
                case (byte)'R': // REDUCE
                case 0x81: // NEWOBJ
                {
                    string what = code == (byte)'R' ? "REDUCE" : "NEWOBJ";
                    Need(2, what);
                    object args = Pop(what), callable = Pop(what);
                    if (args is not PickleTuple t)
                    {
                        throw Fail($"{what} needs an argument tuple, got {Describe(args)}");
                    }
                    _stack.Add(_host.Call(callable, t.Items, _op));
                    break;
                }
                case (byte)'b': // BUILD
                {
                    Need(2, "BUILD");
                    object state = Pop("BUILD"), target = Pop("BUILD");
                    _stack.Add(_host.Build(target, state, _op));
                    break;
                }
                case (byte)'Q': // BINPERSID
                    _stack.Add(_host.PersistentLoad(Pop("BINPERSID"), _op));
                    break;
                case (byte)'0': // POP
                    if (_marks.Count > 0 && _marks[^1] == _stack.Count)
                    {
                        _marks.RemoveAt(_marks.Count - 1); // POP of a MARK, as Python does
                    }
                    else
                    {
                        Pop("POP");
                    }
                    break;
                case (byte)'1': // POP_MARK
                    PopMark("POP_MARK");
                    break;
                case (byte)'2': // DUP
                    Need(1, "DUP");
                    _stack.Add(_stack[^1]);
                    break;
                default:
                    throw Fail($"opcode 0x{code:x2} ('{(code is >= 0x20 and < 0x7f ? (char)code : '?')}') is not one a state dict needs; this restricted unpickler does not run it");
            }
        }
    }

    private void SetItems(PickleDict d, object[] items)
    {
        if (items.Length % 2 != 0)
        {
            throw Fail($"{items.Length} items for a dict (key/value pairs need an even count)");
        }
        for (int i = 0; i < items.Length; i += 2)
        {
            d.Set(items[i], items[i + 1]);
        }
    }

    private int U8() => Take(1)[0];

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n > _data.Length - _pos)
        {
            throw Error(_file, _entry, _data.Length, $"truncated: the opcode at byte {_op} needs {n} more bytes, {_data.Length - _pos} remain");
        }
        var s = _data.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    /// <summary>A length field checked against the bytes that remain, before anything is allocated.</summary>
    private int Length(ulong n, string what)
    {
        if (n > (ulong)(_data.Length - _pos))
        {
            throw Fail($"{what} of {n} bytes, only {_data.Length - _pos} remain");
        }
        return (int)n;
    }

    private int Length(long n, string what) =>
        n < 0 ? throw Fail($"{what} of negative length {n}") : Length((ulong)n, what);

    private string Utf8(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Fail("a string is not valid UTF-8");
        }
    }

    private static object Long(ReadOnlySpan<byte> bytes)
    {
        // Two's complement, little-endian, as LONG1/LONG4 store it.
        if (bytes.Length <= 8)
        {
            if (bytes.Length == 0)
            {
                return 0L;
            }
            Span<byte> v = stackalloc byte[8];
            v.Fill((bytes[^1] & 0x80) != 0 ? (byte)0xFF : (byte)0);
            bytes.CopyTo(v);
            return BinaryPrimitives.ReadInt64LittleEndian(v);
        }
        return new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
    }

    private string Line()
    {
        int limit = Math.Min(_data.Length, _pos + MaxGlobalLine);
        int end = Array.IndexOf(_data, (byte)'\n', _pos, limit - _pos);
        if (end < 0)
        {
            throw Fail($"GLOBAL: no newline within {MaxGlobalLine} bytes");
        }
        var bytes = _data.AsSpan(_pos, end - _pos);
        _pos = end + 1;
        foreach (byte b in bytes)
        {
            if (b is < 0x20 or >= 0x7f)
            {
                throw Fail("GLOBAL: a module or name holds a byte that is not printable ASCII");
            }
        }
        return Encoding.ASCII.GetString(bytes);
    }

    private void Put(long index)
    {
        Need(1, "PUT");
        _memo[index] = _stack[^1];
    }

    private void Get(long index)
    {
        if (!_memo.TryGetValue(index, out var v))
        {
            throw Fail($"memo entry {index} was never stored");
        }
        _stack.Add(v);
    }

    private void Need(int n, string what)
    {
        int floor = _marks.Count > 0 ? _marks[^1] : 0;
        if (_stack.Count - floor < n)
        {
            throw Fail($"{what} needs {n} value(s) on the stack above the last mark, there are {_stack.Count - floor}");
        }
    }

    private object Pop(string what)
    {
        Need(1, what);
        var v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private T Top<T>(string what)
        where T : class
    {
        Need(1, what);
        return _stack[^1] as T ?? throw Fail($"{what} applies to {Describe(_stack[^1])}, not a {(typeof(T) == typeof(PickleDict) ? "dict" : "list")}");
    }

    private object[] PopMark(string what)
    {
        if (_marks.Count == 0)
        {
            throw Fail($"{what} without a MARK");
        }
        int at = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(at, _stack.Count - at).ToArray();
        _stack.RemoveRange(at, _stack.Count - at);
        return items;
    }

    /// <summary>A short description of a value for messages (its type, never its possibly huge content).</summary>
    public static string Describe(object v) => v switch
    {
        string => "a string",
        long or BigInteger => "an int",
        double => "a float",
        bool => "a bool",
        byte[] => "bytes",
        PickleNone => "None",
        PickleTuple t => $"a tuple of {t.Items.Length}",
        PickleList l => $"a list of {l.Items.Count}",
        PickleDict d => $"a dict of {d.Items.Count}",
        PickleGlobal g => $"the global {g.FullName}",
        _ => v.ToString() ?? v.GetType().Name,
    };
}
