namespace Zoetrope.Engine.Video;

/// <summary>
/// CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, initial and final XOR 0xFFFFFFFF), the
/// checksum of every PNG chunk (PNG spec, section 5.5), from a 256-entry table built once.
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = Build();

    /// <summary>Continues a running CRC (start with <c>0xFFFFFFFF</c>, finish with <c>~crc</c>).</summary>
    public static uint Update(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc;
    }

    /// <summary>The CRC-32 of <paramref name="data"/>.</summary>
    public static uint Of(ReadOnlySpan<byte> data) => ~Update(0xFFFFFFFFu, data);

    private static uint[] Build()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }
}
