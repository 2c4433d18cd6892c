namespace Zoetrope.Emulator.Ptx;

/// <summary>
/// One decoded instruction: the opcode split into its base and modifiers once, at load, so the
/// interpreter never parses text while it runs.
/// </summary>
internal sealed class Instr
{
    /// <summary>The opcode as written (<c>ld.global.nc.v4.u32</c>).</summary>
    public required string Opcode { get; init; }
    /// <summary>The base (<c>ld</c>).</summary>
    public required string Base { get; init; }
    /// <summary>Every dot-separated part after the base.</summary>
    public required string[] Parts { get; init; }
    public required Operand[] Ops { get; init; }
    /// <summary>The instruction as written (tokens joined), for messages.</summary>
    public string Text { get; init; } = "";
    /// <summary>The PTX line, for messages.</summary>
    public int Line { get; init; }
    /// <summary>The CUDA source position from .loc (file:line), when the PTX carries it.</summary>
    public string? Source { get; set; }
    /// <summary>The .loc file index and line (the .file table comes at the end of nvcc's PTX, so names are bound after parsing).</summary>
    public int LocFile { get; set; } = -1;
    public int LocLine { get; set; }
    /// <summary>Guard predicate register, -1 for none.</summary>
    public int Guard { get; init; } = -1;
    public bool GuardNegated { get; init; }

    // Decoded by InstrDecoder.
    public OpCode Op;
    /// <summary>The last type suffix (the operation type; the destination type of cvt).</summary>
    public PtxType Type;
    /// <summary>The first of two type suffixes (cvt source type, setp/set compare type, mma shapes use Parts).</summary>
    public PtxType Type2;
    public string Space = "";
    public int Vec = 1;
    public string Cmp = "";
    /// <summary>Instruction-specific pre-decoded state (a conversion spec, an mma kind …).</summary>
    public object? Extra;
    public Exec.InstrClass Class;
    /// <summary>Modifiers read on every lane, decoded once.</summary>
    public bool Ftz, Sat, Wide, Hi, NaNMode, BoolAnd, BoolOr, BoolXor, Uniform;
    /// <summary>shfl/vote/redux .sync or mma/ldmatrix .aligned: the member lanes run it together.</summary>
    public bool WarpSync;
    public Exec.Rounding Rounding;

    public bool Has(string part) => Array.IndexOf(Parts, part) >= 0;

    public override string ToString() => Text;
}
