namespace Zoetrope.Emulator.Ptx;

/// <summary>A parsed PTX module: header, module-scope variables and functions.</summary>
internal sealed class PtxModule
{
    public required string Origin { get; init; }
    public string Version { get; set; } = "";
    public string Target { get; set; } = "";
    public int AddressSize { get; set; } = 64;
    public Dictionary<string, PtxFunction> Functions { get; } = new(StringComparer.Ordinal);
    /// <summary>Module-scope .shared variables (each entry gets them at offsets after its own), .extern .shared included.</summary>
    public List<PtxVariable> Shared { get; } = new();
    /// <summary>Module-scope .global/.const variables, with initial bytes.</summary>
    public List<PtxVariable> Globals { get; } = new();
}
