using System.Buffers.Binary;
using System.Text;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// Reads CUDA fat binaries, the containers nvcc embeds in host code (and cuModuleLoadData may be
/// given): a 16-byte header, then entries, each a header and a payload of PTX text or a cubin.
/// Layout, little-endian:
/// <code>
/// wrapper (__fatBinC_Wrapper_t, what __cudaRegisterFatBinary gets):
///   u32 magic 0x466243B1, u32 version (1), u64 address of the fat binary, u64 unused
/// fat binary header:
///   u32 magic 0xBA55ED50, u16 version, u16 header size, u64 size of the entries that follow
/// entry header (header size at +4, usually 64 or more):
///   +0 u16 kind (1 PTX, 2 ELF)   +2 u16 version       +4 u32 header size   +8 u64 payload size
///   +16 u32 compressed size      +24 u16 PTX minor    +26 u16 PTX major    +28 u32 arch
///   +40 u64 flags (0x2000 compressed)                 +56 u64 uncompressed size
/// </code>
/// The emulator runs PTX only, and only uncompressed PTX: fatbinary compresses by default (LZ4),
/// so libzoetrope_native_emu.so is built with -Xfatbin=-compress=false.
/// </summary>
internal static unsafe class FatBinary
{
    /// <summary>The magic of nvcc's wrapper structure.</summary>
    public const uint WrapperMagic = 0x466243B1;

    /// <summary>The magic of a fat binary header.</summary>
    public const uint Magic = 0xBA55ED50;

    private const int HeaderSize = 16;
    private const int MinEntryHeader = 64;

    /// <summary>The fat binary a __fatBinC_Wrapper_t points at, as a span over the library's memory.</summary>
    /// <exception cref="HostException">Not a version-1 wrapper (INVALID_IMAGE).</exception>
    public static ReadOnlySpan<byte> FromWrapper(void* wrapper)
    {
        if (wrapper == null)
        {
            throw HostException.InvalidImage("fat binary wrapper is a null pointer");
        }
        uint magic = *(uint*)wrapper;
        int version = *((int*)wrapper + 1);
        if (magic != WrapperMagic)
        {
            throw HostException.InvalidImage($"fat binary wrapper magic is 0x{magic:x8}, expected 0x{WrapperMagic:x8}");
        }
        if (version != 1)
        {
            throw HostException.InvalidImage(
                $"fat binary wrapper version {version}: only version 1 (whole-program compilation) is supported, not relocatable device code (-rdc)");
        }
        byte* data = *(byte**)((byte*)wrapper + 8);
        return FromAddress(data);
    }

    /// <summary>The fat binary starting at <paramref name="data"/> (its size is read from its header).</summary>
    public static ReadOnlySpan<byte> FromAddress(byte* data)
    {
        if (data == null)
        {
            throw HostException.InvalidImage("fat binary address is a null pointer");
        }
        var header = new ReadOnlySpan<byte>(data, HeaderSize);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic != Magic)
        {
            throw HostException.InvalidImage($"fat binary magic is 0x{magic:x8}, expected 0x{Magic:x8}");
        }
        int headerSize = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        if (headerSize < HeaderSize || size > int.MaxValue - (ulong)headerSize)
        {
            throw HostException.InvalidImage($"fat binary header size {headerSize} / entries size {size} is not plausible");
        }
        return new ReadOnlySpan<byte>(data, headerSize + (int)size);
    }

    /// <summary>True when <paramref name="image"/> starts with a fat binary header.</summary>
    public static bool IsFatBinary(ReadOnlySpan<byte> image) =>
        image.Length >= HeaderSize && BinaryPrimitives.ReadUInt32LittleEndian(image) == Magic;

    /// <summary>The entries of <paramref name="fatbin"/>, in order.</summary>
    /// <exception cref="HostException">A header that runs past the end (INVALID_IMAGE).</exception>
    public static IReadOnlyList<FatBinaryEntry> Parse(ReadOnlySpan<byte> fatbin)
    {
        if (!IsFatBinary(fatbin))
        {
            throw HostException.InvalidImage("not a fat binary (no 0xBA55ED50 header)");
        }
        int headerSize = BinaryPrimitives.ReadUInt16LittleEndian(fatbin[6..]);
        long end = headerSize + (long)BinaryPrimitives.ReadUInt64LittleEndian(fatbin[8..]);
        if (end > fatbin.Length)
        {
            throw HostException.InvalidImage($"fat binary claims {end} bytes, {fatbin.Length} are there");
        }
        var entries = new List<FatBinaryEntry>();
        long at = headerSize;
        while (at < end)
        {
            if (at + MinEntryHeader > end)
            {
                throw HostException.InvalidImage($"fat binary entry header at {at} runs past the end ({end})");
            }
            var h = fatbin.Slice((int)at, MinEntryHeader);
            int kind = BinaryPrimitives.ReadUInt16LittleEndian(h);
            long entryHeader = BinaryPrimitives.ReadUInt32LittleEndian(h[4..]);
            long payload = (long)BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
            int minor = BinaryPrimitives.ReadUInt16LittleEndian(h[24..]);
            int major = BinaryPrimitives.ReadUInt16LittleEndian(h[26..]);
            int arch = (int)BinaryPrimitives.ReadUInt32LittleEndian(h[28..]);
            ulong flags = BinaryPrimitives.ReadUInt64LittleEndian(h[40..]);
            long uncompressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(h[56..]);
            if (entryHeader < MinEntryHeader || payload < 0 || at + entryHeader + payload > end)
            {
                throw HostException.InvalidImage($"fat binary entry at {at}: header {entryHeader} + payload {payload} bytes run past the end ({end})");
            }
            entries.Add(new FatBinaryEntry(kind, arch, major * 10 + minor, flags, at + entryHeader, payload, uncompressed));
            at += entryHeader + payload;
        }
        return entries;
    }

    /// <summary>
    /// The PTX entry the emulated device runs: the one for the highest architecture not above
    /// <paramref name="deviceArch"/> (a GPU JIT-compiles the same one); an arch-specific entry
    /// (compute_90a) only on exactly its architecture, preferred there.
    /// </summary>
    /// <exception cref="HostException">No such PTX, or it is compressed (INVALID_IMAGE).</exception>
    public static FatBinaryEntry SelectPtx(IReadOnlyList<FatBinaryEntry> entries, int deviceArch, string what)
    {
        FatBinaryEntry? best = null;
        foreach (var e in entries)
        {
            // An arch-specific entry (compute_90a) runs only on its own architecture, where it is
            // preferred to the portable one (an H100 runs sm_90a code: wgmma, setmaxnreg).
            bool runs = e.IsPtx && (e.IsArchSpecific ? e.Arch == deviceArch : e.Arch <= deviceArch);
            if (runs && (best is null || e.Arch > best.Value.Arch || (e.Arch == best.Value.Arch && e.IsArchSpecific)))
            {
                best = e;
            }
        }
        if (best is null)
        {
            throw HostException.InvalidImage(
                $"{what} has no PTX for compute_{deviceArch} or lower (it holds: {(entries.Count == 0 ? "nothing" : string.Join("; ", entries))}); "
                + "the emulated device runs PTX only: build with -gencode arch=compute_80,code=compute_80");
        }
        if (best.Value.IsCompressed)
        {
            throw HostException.InvalidImage(
                $"{what}: its PTX for compute_{best.Value.ArchName} is compressed (fatbinary's default); "
                + "build with -Xfatbin=-compress=false, as CMake does for libzoetrope_native_emu.so");
        }
        return best.Value;
    }

    /// <summary>The PTX text of <paramref name="entry"/> (up to its first NUL; the payload is padded).</summary>
    public static string PtxText(ReadOnlySpan<byte> fatbin, FatBinaryEntry entry)
    {
        var payload = fatbin.Slice((int)entry.PayloadOffset, (int)entry.PayloadSize);
        int nul = payload.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? payload : payload[..nul]);
    }

    /// <summary>
    /// The source file a PTX module was compiled from, from its first <c>.file</c> directive
    /// (present with -lineinfo), or null: a readable origin for messages.
    /// </summary>
    public static string? SourceFile(string ptx)
    {
        int at = ptx.IndexOf(".file\t1 \"", StringComparison.Ordinal);
        if (at < 0)
        {
            at = ptx.IndexOf(".file 1 \"", StringComparison.Ordinal);
        }
        if (at < 0)
        {
            return null;
        }
        int start = at + ".file 1 \"".Length;
        int end = ptx.IndexOf('"', start);
        return end > start ? ptx[start..end] : null;
    }
}
