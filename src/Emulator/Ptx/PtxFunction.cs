using Zoetrope.Emulator.Device;

namespace Zoetrope.Emulator.Ptx;

/// <summary>A parsed .entry or .func: parameters, registers, variables, decoded instructions.</summary>
internal sealed class PtxFunction
{
    public required string Name { get; init; }
    public bool IsEntry { get; init; }
    public int Line { get; init; }
    public List<EmuParam> Params { get; } = new();
    public int ParamBytes { get; set; }
    /// <summary>Static shared bytes (module- and function-scope .shared this function uses); dynamic shared starts after it.</summary>
    public int StaticSharedBytes { get; set; }
    /// <summary>The offset of dynamic (.extern) shared memory: the static size aligned up.</summary>
    public int DynamicSharedOffset { get; set; }
    /// <summary>Per-thread local bytes.</summary>
    public int LocalBytes { get; set; }
    public int RegisterCount { get; set; }
    public List<Instr> Code { get; } = new();
    /// <summary>Register names by index, for messages.</summary>
    public List<string> RegisterNames { get; } = new();
    /// <summary>Maximum threads per block from .maxntid/.reqntid (0: none).</summary>
    public int MaxThreads { get; set; }
}
