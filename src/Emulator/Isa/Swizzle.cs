namespace Zoetrope.Emulator.Isa;

/// <summary>The shared-memory swizzle modes of TMA (CUtensorMapSwizzle) and of wgmma's matrix descriptors.</summary>
internal enum SwizzleMode : byte
{
    /// <summary>No swizzle: the byte offset is used as is.</summary>
    None = 0,
    /// <summary>32-byte swizzle: the pattern repeats every 256 bytes.</summary>
    B32 = 1,
    /// <summary>64-byte swizzle: the pattern repeats every 512 bytes.</summary>
    B64 = 2,
    /// <summary>128-byte swizzle: the pattern repeats every 1024 bytes.</summary>
    B128 = 3,
}

/// <summary>
/// The swizzled shared-memory layouts Hopper's TMA writes and wgmma reads (PTX ISA, "Tensor
/// copy: shared memory swizzling" and the wgmma "matrix descriptor" canonical layouts; CUDA
/// programming guide, "TMA swizzle"). The unit is the 16-byte chunk: within each span of
/// 128 / 64 / 32 bytes (a "row"), the chunk index (byte-address bits [4:6] / [4:5] / [4]) is XORed
/// with the row's index modulo 8 / 4 / 2 (bits [7:9] / [7:8] / [7]). The pattern repeats every
/// 1024 / 512 / 256 bytes, which is why a swizzled destination must be aligned to that size:
/// the hardware applies it to address bits, so an offset from such a base gives the same result.
/// One helper for both users (TMA here, Isa/Wgmma.cs for descriptors).
/// </summary>
internal static class Swizzle
{
    /// <summary>The swizzled byte offset of <paramref name="byteOffset"/> (from a base aligned to <see cref="Repeat"/>).</summary>
    public static int Apply(int byteOffset, SwizzleMode mode) => mode switch
    {
        SwizzleMode.None => byteOffset,
        SwizzleMode.B32 => byteOffset ^ ((byteOffset >> 3) & 0x10),
        SwizzleMode.B64 => byteOffset ^ ((byteOffset >> 3) & 0x30),
        SwizzleMode.B128 => byteOffset ^ ((byteOffset >> 3) & 0x70),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "not a swizzle mode"),
    };

    /// <summary>The span whose 16-byte chunks are permuted (the most bytes a swizzled box row may have).</summary>
    public static int Span(SwizzleMode mode) => mode switch
    {
        SwizzleMode.B32 => 32,
        SwizzleMode.B64 => 64,
        SwizzleMode.B128 => 128,
        _ => int.MaxValue,
    };

    /// <summary>How often the pattern repeats, in bytes: the alignment a swizzled shared buffer needs (128 without swizzle, TMA's minimum).</summary>
    public static int Repeat(SwizzleMode mode) => mode switch
    {
        SwizzleMode.B32 => 256,
        SwizzleMode.B64 => 512,
        SwizzleMode.B128 => 1024,
        _ => 128,
    };
}
