namespace Zoetrope.Emulator.Ptx;

/// <summary>What an operand is.</summary>
internal enum OperandKind : byte
{
    /// <summary>A register (predicates included): <see cref="Operand.Reg"/>.</summary>
    Reg,
    /// <summary>An immediate: <see cref="Operand.Imm"/> holds its bits (floats as the instruction's type).</summary>
    Imm,
    /// <summary>A special register (%tid.x …): <see cref="Operand.Special"/>.</summary>
    Special,
    /// <summary>A variable's address in its own state space: <see cref="Operand.Imm"/> once resolved.</summary>
    Symbol,
    /// <summary>A vector {a, b, …}: <see cref="Operand.Elems"/>.</summary>
    Vector,
    /// <summary>A memory operand [base + offset].</summary>
    Memory,
    /// <summary>A branch target: <see cref="Operand.Target"/> is the instruction index.</summary>
    Label,
    /// <summary>The sink <c>_</c>.</summary>
    Sink,
}

/// <summary>The special registers.</summary>
internal enum SpecialReg : byte
{
    TidX, TidY, TidZ, NtidX, NtidY, NtidZ, CtaidX, CtaidY, CtaidZ, NctaidX, NctaidY, NctaidZ,
    LaneId, WarpId, NWarpId, SmId, NSmId, Clock, Clock64, GlobalTimer,
    LanemaskEq, LanemaskLt, LanemaskLe, LanemaskGt, LanemaskGe, DynamicSmemSize, TotalSmemSize, WarpSize,
}

/// <summary>One operand of a decoded instruction.</summary>
internal sealed class Operand
{
    public OperandKind Kind;
    /// <summary>Register index (Reg), or the base register of a Memory operand (-1: none).</summary>
    public int Reg = -1;
    /// <summary>Immediate bits; a Symbol's resolved address; a Memory operand's constant part (symbol address + offset).</summary>
    public ulong Imm;
    public SpecialReg Special;
    public Operand[] Elems = [];
    public int Target;
    /// <summary>The symbol name (Symbol, or a Memory operand based on a symbol), for resolution and messages.</summary>
    public string? Name;
    /// <summary>The state space the symbol lives in ("shared", "local", "param", "global", "const").</summary>
    public string? SymbolSpace;
    /// <summary>A numeric immediate as written, kept until the instruction's type says how to read it.</summary>
    public string? Literal;
    /// <summary>Logical negation of a predicate operand (<c>!%p</c>).</summary>
    public bool Negate;

    public override string ToString() => Kind switch
    {
        OperandKind.Reg => $"r{Reg}",
        OperandKind.Imm => Literal ?? Imm.ToString(),
        OperandKind.Memory => $"[{(Name ?? (Reg >= 0 ? $"r{Reg}" : ""))}+{(long)Imm}]",
        _ => Kind.ToString(),
    };
}
