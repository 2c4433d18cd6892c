using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Zoetrope.Runtime.IO;

/// <summary>
/// NumPy's .npy format: read (v1.0, v2.0, v3.0 headers; f2, f4, f8, i1, u1, i4, and bf16/FP8 as
/// ml_dtypes writes them, see <see cref="NpyDescr"/>; little- or big-endian; C or Fortran order)
/// into a C-contiguous host tensor, and write any tensor (v1.0 header, v2.0 when it needs more than
/// 65535 bytes, padded so the data starts at a multiple of 64 bytes, C order: what NumPy writes).
/// Every malformed input raises a <see cref="ZoetropeFormatException"/> naming the file and the
/// byte offset. Bytes after the data are ignored, as np.load ignores them.
/// </summary>
public static class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads the .npy file at <paramref name="path"/>.</summary>
    public static Tensor Read(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream, path);
    }

    /// <summary>Reads an .npy image from <paramref name="stream"/>; <paramref name="label"/> names it in errors.</summary>
    public static Tensor Read(Stream stream, string label)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var prefix = ReadExactly(stream, 10, label, 0, "the magic string and header length");
        if (!prefix.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new ZoetropeFormatException(label, 0, "not an .npy file (the magic string \\x93NUMPY is missing)");
        }
        int major = prefix[6];
        int minor = prefix[7];
        long headerStart;
        long headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8));
            headerStart = 10;
        }
        else if (major is 2 or 3)
        {
            var more = ReadExactly(stream, 2, label, 10, "the header length");
            headerLength = BinaryPrimitives.ReadUInt32LittleEndian([prefix[8], prefix[9], more[0], more[1]]);
            headerStart = 12;
        }
        else
        {
            throw new ZoetropeFormatException(label, 6, $"unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are read)");
        }
        if (stream.CanSeek && headerLength > stream.Length - stream.Position)
        {
            throw new ZoetropeFormatException(label, 8, $"header length {headerLength} runs past the end of the file ({stream.Length} bytes)");
        }
        if (headerLength > 1 << 24)
        {
            throw new ZoetropeFormatException(label, 8, $"header length {headerLength} is implausible for an .npy file");
        }
        var headerBytes = ReadExactly(stream, (int)headerLength, label, headerStart, "the header");
        string header;
        try
        {
            // v1 and v2 headers are latin-1 (ASCII in practice); v3 is UTF-8.
            header = major == 3
                ? new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(headerBytes)
                : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ZoetropeFormatException(label, headerStart + e.Index, "the v3 header is not valid UTF-8", e);
        }
        var (dtype, bigEndian, fortran, shape) = ParseHeader(header, label, headerStart);
        long dataStart = headerStart + headerLength;
        long count = 1;
        foreach (var d in shape)
        {
            if (d != 0 && count > long.MaxValue / d)
            {
                throw new ZoetropeFormatException(label, headerStart, $"shape {Shape.Format(shape)} has more elements than 64 bits count");
            }
            count *= d;
        }
        if (count > Array.MaxLength / dtype.Size())
        {
            throw new ZoetropeFormatException(label, headerStart, $"shape {Shape.Format(shape)} of {dtype.Name()} is too large for one host tensor");
        }
        long dataBytes = count * dtype.Size();
        if (stream.CanSeek && dataBytes > stream.Length - stream.Position)
        {
            throw new ZoetropeFormatException(label, stream.Length,
                $"truncated: shape {Shape.Format(shape)} of {dtype.Name()} needs {dataBytes} data bytes from byte {dataStart}, the file has {stream.Length - dataStart}");
        }
        var data = ReadExactly(stream, (int)dataBytes, label, dataStart, $"the data of shape {Shape.Format(shape)} {dtype.Name()}");
        if (bigEndian)
        {
            for (int i = 0; i < data.Length; i += dtype.Size())
            {
                data.AsSpan(i, dtype.Size()).Reverse();
            }
        }
        return fortran ? FromFortran(data, dtype, shape, label) : FromC(data, dtype, shape, label);
    }

    /// <summary>Writes <paramref name="tensor"/> (any backend, any strides) to <paramref name="path"/>, replacing it atomically.</summary>
    public static void Write(string path, Tensor tensor)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var stream = File.Create(tmp))
            {
                Write(stream, tensor);
            }
            File.Move(tmp, path, overwrite: true);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    /// <summary>Writes <paramref name="tensor"/> as an .npy image to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensor);
        string dims = tensor.Rank switch
        {
            0 => "()",
            1 => $"({tensor.Shape[0].ToString(CultureInfo.InvariantCulture)},)",
            _ => "(" + string.Join(", ", tensor.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + ")",
        };
        string dict = $"{{'descr': '{NpyDescr.For(tensor.DType)}', 'fortran_order': False, 'shape': {dims}, }}";
        var dictBytes = Encoding.ASCII.GetBytes(dict);
        bool v2 = dictBytes.Length + 1 + 10 > ushort.MaxValue;
        int prefix = v2 ? 12 : 10;
        int total = (prefix + dictBytes.Length + 1 + 63) / 64 * 64;
        int headerLength = total - prefix;
        var head = new byte[total];
        Magic.CopyTo(head, 0);
        head[6] = (byte)(v2 ? 2 : 1);
        head[7] = 0;
        if (v2)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(head.AsSpan(8), (uint)headerLength);
        }
        else
        {
            BinaryPrimitives.WriteUInt16LittleEndian(head.AsSpan(8), (ushort)headerLength);
        }
        dictBytes.CopyTo(head, prefix);
        head.AsSpan(prefix + dictBytes.Length, headerLength - dictBytes.Length - 1).Fill((byte)' ');
        head[^1] = (byte)'\n';
        stream.Write(head);
        stream.Write(tensor.ToBytes());
    }

    private static (DType DType, bool BigEndian, bool Fortran, long[] Shape) ParseHeader(string header, string label, long offset)
    {
        if (PyLiteral.Parse(header, label, offset) is not Dictionary<string, object> dict)
        {
            throw new ZoetropeFormatException(label, offset, "the header is not a dict");
        }
        if (!dict.TryGetValue("descr", out var d) || d is not string descr)
        {
            throw new ZoetropeFormatException(label, offset, dict.ContainsKey("descr")
                ? "'descr' is not a plain type string (structured arrays are not supported)"
                : "the header has no 'descr'");
        }
        if (!dict.TryGetValue("fortran_order", out var f) || f is not bool fortran)
        {
            throw new ZoetropeFormatException(label, offset, "the header has no boolean 'fortran_order'");
        }
        if (!dict.TryGetValue("shape", out var s) || s is not List<object> dims)
        {
            throw new ZoetropeFormatException(label, offset, "the header has no 'shape' tuple");
        }
        var shape = new long[dims.Count];
        for (int i = 0; i < dims.Count; i++)
        {
            if (dims[i] is not long n || n < 0)
            {
                throw new ZoetropeFormatException(label, offset, $"shape entry {i} ({dims[i]}) is not a non-negative integer");
            }
            shape[i] = n;
        }
        var parsed = NpyDescr.Parse(descr)
            ?? throw new ZoetropeFormatException(label, offset,
                $"unsupported dtype descriptor '{descr}' (read: f2, f4, f8, i1, u1, i4, bf16 as <V2, FP8 as <V1 / <f1 / ml_dtypes names)");
        return (parsed.DType, parsed.BigEndian, fortran, shape);
    }

    private static Tensor FromC(byte[] data, DType dtype, long[] shape, string label)
    {
        var t = Backends.Host.Allocate(dtype, new Shape(shape), Path.GetFileNameWithoutExtension(label));
        t.CopyFrom(data);
        return t;
    }

    // Fortran order is C order of the reversed shape: read it so, then view it with the axes
    // reversed and copy that view into a C-contiguous tensor.
    private static Tensor FromFortran(byte[] data, DType dtype, long[] shape, string label)
    {
        var reversed = shape.Reverse().ToArray();
        using var columnMajor = FromC(data, dtype, reversed, label);
        var view = columnMajor;
        for (int i = 0; i < shape.Length / 2; i++)
        {
            view = view.Transpose(i, shape.Length - 1 - i);
        }
        return view.To(Backends.Host, Path.GetFileNameWithoutExtension(label));
    }

    // Reads exactly count bytes. Large reads grow their buffer chunk by chunk, so a header that
    // claims gigabytes on a short, unseekable stream fails at the real end, not in an allocation.
    private static byte[] ReadExactly(Stream stream, int count, string label, long offset, string what)
    {
        const int chunk = 1 << 20;
        if (count <= chunk)
        {
            var small = new byte[count];
            Fill(stream, small, 0, count, label, offset, what, count);
            return small;
        }
        using var grown = new MemoryStream();
        var buffer = new byte[chunk];
        long done = 0;
        while (done < count)
        {
            int want = (int)Math.Min(chunk, count - done);
            Fill(stream, buffer, 0, want, label, offset + done, what, count, done);
            grown.Write(buffer, 0, want);
            done += want;
        }
        return grown.ToArray();
    }

    private static void Fill(Stream stream, byte[] buffer, int start, int count, string label, long offset, string what, long total, long before = 0)
    {
        int done = 0;
        while (done < count)
        {
            int n = stream.Read(buffer, start + done, count - done);
            if (n == 0)
            {
                throw new ZoetropeFormatException(label, offset + done,
                    $"truncated: {what} needs {total} bytes from byte {offset - before}, only {before + done} are there");
            }
            done += n;
        }
    }
}
