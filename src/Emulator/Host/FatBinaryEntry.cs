namespace Zoetrope.Emulator.Host;

/// <summary>
/// One entry of a CUDA fat binary: PTX text (kind 1) or an ELF cubin (kind 2) for one
/// architecture, at <see cref="PayloadOffset"/> from the start of the fat binary.
/// </summary>
/// <param name="Kind">1 for PTX, 2 for a cubin.</param>
/// <param name="Arch">The architecture number: 80 for compute_80 / sm_80.</param>
/// <param name="PtxVersion">The PTX ISA version as major * 10 + minor (84 for 8.4).</param>
/// <param name="Flags">The entry's flag bits; 0x2000 marks a compressed payload.</param>
/// <param name="PayloadOffset">Where the payload starts, in bytes from the fat binary's header.</param>
/// <param name="PayloadSize">The payload's size in the fat binary (padded).</param>
/// <param name="UncompressedSize">The size before compression, for a compressed payload; else 0.</param>
internal readonly record struct FatBinaryEntry(int Kind, int Arch, int PtxVersion, ulong Flags, long PayloadOffset, long PayloadSize, long UncompressedSize)
{
    /// <summary>The kind of a PTX entry.</summary>
    public const int KindPtx = 1;

    /// <summary>The kind of an ELF (cubin, SASS) entry.</summary>
    public const int KindElf = 2;

    /// <summary>The flag fatbinary sets on a compressed payload (its default since CUDA 11).</summary>
    public const ulong CompressedFlag = 0x2000;

    /// <summary>The flag nvcc sets on an architecture-specific entry (compute_90a: arch 90 with this bit; cuobjdump shows "sm_90a").</summary>
    public const ulong ArchSpecificFlag = 0x100000;

    /// <summary>True for an architecture-specific ('a') entry, which runs only on that exact architecture.</summary>
    public bool IsArchSpecific => (Flags & ArchSpecificFlag) != 0;

    /// <summary>The architecture as nvcc names it: "90a" for an arch-specific entry, else "90".</summary>
    public string ArchName => IsArchSpecific ? $"{Arch}a" : $"{Arch}";

    /// <summary>True for PTX text.</summary>
    public bool IsPtx => Kind == KindPtx;

    /// <summary>True when the payload is compressed and cannot be read as text.</summary>
    public bool IsCompressed => (Flags & CompressedFlag) != 0 || UncompressedSize != 0;

    /// <inheritdoc />
    public override string ToString() =>
        $"{(IsPtx ? "PTX compute" : Kind == KindElf ? "ELF sm" : $"kind {Kind} arch")}_{ArchName}{(IsCompressed ? " (compressed)" : string.Empty)}, {PayloadSize} bytes";
}
