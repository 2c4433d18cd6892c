namespace Zoetrope.Emulator.Ptx;

/// <summary>A declared variable (.shared, .global, .const, .local): name, bytes, alignment, initial bytes.</summary>
internal sealed class PtxVariable
{
    public required string Name { get; init; }
    public required string Space { get; init; }
    public int Align { get; init; } = 1;
    /// <summary>Size in bytes; 0 for an .extern unsized array (dynamic shared memory).</summary>
    public long Size { get; init; }
    public bool IsExtern { get; init; }
    public byte[]? Init { get; init; }
    public int Line { get; init; }
}
