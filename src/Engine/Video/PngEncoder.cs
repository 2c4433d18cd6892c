// PngEncoder: a dependency-free PNG writer for 8-bit RGB images, so an application that embeds the
// engine writes frames and contact sheets without a native image library. The file is the
// signature, IHDR (8-bit truecolour, no interlace), one IDAT holding the zlib stream
// (System.IO.Compression's ZLibStream) of the filtered scanlines, and IEND; each chunk ends with
// its CRC-32 over type and data. Every scanline uses filter 1 (Sub: each byte minus the same
// channel of the pixel to its left), which costs one subtraction and shrinks smooth frames.
using System.Buffers.Binary;
using System.IO.Compression;

namespace Zoetrope.Engine.Video;

/// <summary>Encodes 8-bit RGB images as PNG.</summary>
internal static class PngEncoder
{
    private static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The PNG file of an image, <paramref name="rgb"/> [height, width, 3] bytes, row by row.</summary>
    /// <exception cref="ArgumentException">A size that is not positive, or a buffer of another length; the message says both.</exception>
    public static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height, CompressionLevel level = CompressionLevel.Fastest)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ArgumentException($"png: image {width}x{height}: width and height must be positive");
        }
        long expected = (long)width * height * 3;
        if (rgb.Length != expected)
        {
            throw new ArgumentException($"png: pixels of a {width}x{height} RGB image: expected {expected} bytes, got {rgb.Length}");
        }
        using var file = new MemoryStream();
        file.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8; // bit depth
        header[9] = 2; // colour type: truecolour
        header[10] = 0; // compression: deflate
        header[11] = 0; // filter method 0 (the five per-row filters)
        header[12] = 0; // no interlace
        Chunk(file, "IHDR"u8, header);
        Chunk(file, "IDAT"u8, Compress(rgb, width, height, level));
        Chunk(file, "IEND"u8, []);
        return file.ToArray();
    }

    /// <summary>Writes the PNG of <paramref name="rgb"/> [height, width, 3] to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">As <see cref="Encode"/>.</exception>
    public static void Write(string path, ReadOnlySpan<byte> rgb, int width, int height) => File.WriteAllBytes(path, Encode(rgb, width, height));

    private static byte[] Compress(ReadOnlySpan<byte> rgb, int width, int height, CompressionLevel level)
    {
        int stride = width * 3;
        var line = new byte[stride + 1];
        using var packed = new MemoryStream();
        using (var z = new ZLibStream(packed, level, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                var row = rgb.Slice(y * stride, stride);
                line[0] = 1; // Sub
                for (int i = 0; i < stride; i++)
                {
                    line[i + 1] = (byte)(row[i] - (i >= 3 ? row[i - 3] : 0));
                }
                z.Write(line);
            }
        }
        return packed.ToArray();
    }

    private static void Chunk(Stream file, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        file.Write(type);
        file.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, ~Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data));
        file.Write(word);
    }
}
