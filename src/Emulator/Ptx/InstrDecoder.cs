using Zoetrope.Emulator.Exec;

namespace Zoetrope.Emulator.Ptx;

/// <summary>
/// Decodes an instruction's opcode once, at load: base, types, state space, vector width,
/// comparison, class for the counters, and numeric immediates read as the instruction's type.
/// An opcode outside the implemented set decodes to <see cref="OpCode.Unknown"/>: the module
/// still loads (other kernels may not need it), and a launch that reaches it stops, naming it.
/// </summary>
internal static class InstrDecoder
{
    private static readonly HashSet<string> Spaces = ["global", "shared", "local", "param", "const", "generic"];
    private static readonly HashSet<string> Comparisons =
        ["eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"];

    public static void Decode(Instr ins, PtxFunction fn, string origin)
    {
        var types = new List<PtxType>(2);
        foreach (var part in ins.Parts)
        {
            if (PtxTypes.TryParse(part, out var t))
            {
                types.Add(t);
            }
            else if (Spaces.Contains(part) || part.IndexOf("::", StringComparison.Ordinal) is > 0 and var cut && Spaces.Contains(part[..cut]))
            {
                // .shared::cta is .shared (one CTA per cluster here); the sub-space stays in Parts.
                ins.Space = ins.Space.Length == 0 ? part.Split("::")[0] : ins.Space;
            }
            else if (part is "v2" or "v4" or "v8")
            {
                ins.Vec = part[1] - '0';
            }
            else if (Comparisons.Contains(part) && ins.Cmp.Length == 0)
            {
                ins.Cmp = part;
            }
        }
        if (types.Count > 0)
        {
            ins.Type = ins.Base == "cvt" || ins.Base == "set" ? types[0] : types[^1];
            ins.Type2 = types.Count > 1 ? (ins.Base == "cvt" || ins.Base == "set" ? types[1] : types[0]) : ins.Type;
        }
        ins.Ftz = ins.Has("ftz");
        ins.Uniform = ins.Has("uni");
        ins.Sat = ins.Has("sat");
        ins.Wide = ins.Has("wide");
        ins.Hi = ins.Has("hi");
        ins.NaNMode = ins.Has("NaN");
        ins.BoolAnd = ins.Has("and");
        ins.BoolOr = ins.Has("or");
        ins.BoolXor = ins.Has("xor");
        ins.Rounding = Fp32.ParseRounding(ins.Parts);
        ins.Op = Lookup(ins);
        ins.Class = Classify(ins);
        ins.WarpSync = ins.Op is OpCode.Shfl or OpCode.Vote or OpCode.Redux or OpCode.Mma or OpCode.LdMatrix or OpCode.BarWarp
            or OpCode.Wgmma or OpCode.WgmmaFence or OpCode.WgmmaCommit or OpCode.WgmmaWait or OpCode.StMatrix or OpCode.Elect or OpCode.SetMaxNReg;
        // Numeric immediates: floats for float operations (cvt reads its source as its source type).
        for (int i = 0; i < ins.Ops.Length; i++)
        {
            var type = ins.Op == OpCode.Cvt && i > 0 ? ins.Type2 : ins.Type;
            if (ins.Op == OpCode.Selp && i == 3 || ins.Op is OpCode.Shl or OpCode.Shr && i == 2 || ins.Op == OpCode.Testp)
            {
                type = PtxType.S64;
            }
            ResolveLiteral(ins.Ops[i], type is PtxType.F32 or PtxType.F64 ? type : PtxType.S64, origin, ins.Line);
            if (ins.Type == PtxType.Pred && ins.Ops[i].Kind == OperandKind.Imm)
            {
                // A constant predicate reads as in C: any nonzero value is true (PTX ISA 4.5).
                ins.Ops[i].Imm = ins.Ops[i].Imm != 0 ? 1UL : 0UL;
            }
        }
    }

    private static void ResolveLiteral(Operand op, PtxType type, string origin, int line)
    {
        if (op.Kind == OperandKind.Imm && op.Literal is { } lit)
        {
            op.Imm = PtxParser.ParseLiteral(lit, type, origin, line);
        }
        foreach (var e in op.Elems)
        {
            ResolveLiteral(e, type, origin, line);
        }
    }

    private static OpCode Lookup(Instr ins) => ins.Base switch
    {
        "mov" => OpCode.Mov,
        "add" => OpCode.Add,
        "sub" => OpCode.Sub,
        "mul" => OpCode.Mul,
        "mad" => OpCode.Mad,
        "fma" => OpCode.Fma,
        "div" => OpCode.Div,
        "rem" => OpCode.Rem,
        "abs" => OpCode.Abs,
        "neg" => OpCode.Neg,
        "min" => OpCode.Min,
        "max" => OpCode.Max,
        "copysign" => OpCode.Copysign,
        "and" => OpCode.And,
        "or" => OpCode.Or,
        "xor" => OpCode.Xor,
        "not" => OpCode.Not,
        "cnot" => OpCode.Cnot,
        "shl" => OpCode.Shl,
        "shr" => OpCode.Shr,
        "popc" => OpCode.Popc,
        "clz" => OpCode.Clz,
        "brev" => OpCode.Brev,
        "bfe" => OpCode.Bfe,
        "bfi" => OpCode.Bfi,
        "prmt" => OpCode.Prmt,
        "selp" => OpCode.Selp,
        "setp" => OpCode.Setp,
        "set" => OpCode.Set,
        "slct" => OpCode.Slct,
        "testp" => OpCode.Testp,
        "cvt" => OpCode.Cvt,
        "cvta" => OpCode.Cvta,
        "ex2" => OpCode.Ex2,
        "lg2" => OpCode.Lg2,
        "rcp" => OpCode.Rcp,
        "rsqrt" => OpCode.Rsqrt,
        "sqrt" => OpCode.Sqrt,
        "tanh" => OpCode.Tanh,
        "sin" => OpCode.Sin,
        "cos" => OpCode.Cos,
        "ld" => OpCode.Ld,
        "ldu" => OpCode.Ldu,
        "st" => OpCode.St,
        "atom" => OpCode.Atom,
        "red" => OpCode.Red,
        "cp" when ins.Parts.Length > 1 && ins.Parts[0] == "async" && ins.Parts[1] == "bulk" => ins.Parts.Length < 3 ? OpCode.Unknown
            : ins.Parts[2] == "tensor" ? OpCode.CpBulkTensor
            : ins.Parts[2] == "commit_group" ? OpCode.CpBulkCommit
            : ins.Parts[2] == "wait_group" ? OpCode.CpBulkWait
            : ins.Parts[2] is "prefetch" or "prefetch_l2" ? OpCode.Prefetch
            : OpCode.CpBulk,
        "mbarrier" when ins.Parts.Length > 0 => ins.Parts[0] switch
        {
            "init" => OpCode.MbarInit,
            "arrive" or "arrive_drop" => OpCode.MbarArrive,
            "expect_tx" => OpCode.MbarExpectTx,
            "complete_tx" => OpCode.MbarCompleteTx,
            "try_wait" or "test_wait" => OpCode.MbarWait,
            "inval" => OpCode.MbarInval,
            _ => OpCode.Unknown,
        },
        "cp" when ins.Parts.Length > 0 && ins.Parts[0] == "async" => ins.Parts.Length > 1 && ins.Parts[1] == "commit_group" ? OpCode.CpAsyncCommit
            : ins.Parts.Length > 1 && ins.Parts[1] == "wait_group" ? OpCode.CpAsyncWait
            : ins.Parts.Length > 1 && ins.Parts[1] == "wait_all" ? OpCode.CpAsyncWaitAll
            : ins.Parts.Length > 1 && ins.Parts[1] is "ca" or "cg" ? OpCode.CpAsync
            : OpCode.Unknown,
        "ldmatrix" => OpCode.LdMatrix,
        "prefetch" or "prefetchu" => OpCode.Prefetch,
        "mma" => OpCode.Mma,
        "bra" => OpCode.Bra,
        "ret" => OpCode.Ret,
        "exit" => OpCode.Exit,
        "trap" => OpCode.Trap,
        // bar.warp.sync membermask (__syncwarp): the member lanes converge; no CTA barrier.
        "bar" when ins.Parts.Length > 1 && ins.Parts[0] == "warp" && ins.Parts[1] == "sync" => OpCode.BarWarp,
        "bar" or "barrier" when ins.Parts.Length > 0 && ins.Parts[0] == "arrive" => OpCode.BarArrive,
        "bar" or "barrier" when ins.Parts.Length > 0 && ins.Parts[0] is "sync" or "cta" && !ins.Has("arrive") => OpCode.Bar,
        "bar" or "barrier" when ins.Parts.Length == 0 => OpCode.Bar,
        "membar" or "fence" => OpCode.Fence,
        "nanosleep" => OpCode.Nanosleep,
        "shfl" => OpCode.Shfl,
        "vote" => OpCode.Vote,
        "redux" => OpCode.Redux,
        "activemask" => OpCode.Activemask,
        "wgmma" when ins.Parts.Length > 0 => ins.Parts[0] switch
        {
            "mma_async" => OpCode.Wgmma,
            "fence" => OpCode.WgmmaFence,
            "commit_group" => OpCode.WgmmaCommit,
            "wait_group" => OpCode.WgmmaWait,
            _ => OpCode.Unknown,
        },
        "stmatrix" => OpCode.StMatrix,
        "elect" when ins.Has("sync") => OpCode.Elect,
        "setmaxnreg" => OpCode.SetMaxNReg,
        _ => OpCode.Unknown,
    };

    private static InstrClass Classify(Instr ins) => ins.Op switch
    {
        OpCode.Ld or OpCode.Ldu or OpCode.St or OpCode.Atom or OpCode.Red => ins.Space switch
        {
            "global" or "" or "generic" => InstrClass.Global,
            "shared" => InstrClass.Shared,
            _ => InstrClass.Local,
        },
        OpCode.CpAsync or OpCode.CpAsyncCommit or OpCode.CpAsyncWait or OpCode.CpAsyncWaitAll or OpCode.LdMatrix => InstrClass.Shared,
        OpCode.Mma or OpCode.Wgmma => InstrClass.Tensor,
        OpCode.StMatrix => InstrClass.Shared,
        OpCode.Elect => InstrClass.Warp,
        OpCode.WgmmaFence or OpCode.WgmmaCommit or OpCode.WgmmaWait or OpCode.SetMaxNReg => InstrClass.Control,
        OpCode.MbarInit or OpCode.MbarArrive or OpCode.MbarExpectTx or OpCode.MbarCompleteTx or OpCode.MbarWait or OpCode.MbarInval
            or OpCode.CpBulk or OpCode.CpBulkTensor or OpCode.CpBulkCommit or OpCode.CpBulkWait => InstrClass.Shared,
        OpCode.Cvt => InstrClass.Convert,
        OpCode.Ex2 or OpCode.Lg2 or OpCode.Rcp or OpCode.Rsqrt or OpCode.Sqrt or OpCode.Tanh or OpCode.Sin or OpCode.Cos => InstrClass.Special,
        OpCode.Bra or OpCode.Ret or OpCode.Exit or OpCode.Trap or OpCode.Bar or OpCode.BarArrive or OpCode.BarWarp or OpCode.Fence or OpCode.Nanosleep => InstrClass.Control,
        OpCode.Shfl or OpCode.Vote or OpCode.Redux or OpCode.Activemask or OpCode.Match => InstrClass.Warp,
        _ when ins.Type is PtxType.F16x2 or PtxType.BF16x2 or PtxType.F16 or PtxType.BF16 && ins.Op is not (OpCode.Mov or OpCode.Selp) => InstrClass.Half,
        _ when ins.Type is PtxType.F32 or PtxType.F64 && ins.Op is not (OpCode.Mov or OpCode.Selp) => InstrClass.Float,
        _ => InstrClass.Integer,
    };
}
