using System.Numerics;
using Zoetrope.Emulator.Isa;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Hopper's warpgroup instructions (wgmma.mma_async and its fence / commit_group / wait_group) and
/// their companions stmatrix, elect.sync and setmaxnreg.
/// A warpgroup is the 4 consecutive warps 4g..4g+3 of the CTA. wgmma's result for warp w is its
/// own 16 rows of D, which depend only on A's rows for that warp and on all of B, never on another
/// warp's registers: so each warp computes its share eagerly when it issues the instruction. What
/// is asynchronous on a GPU is tracked instead: the accumulator (and A) registers of a wgmma stay
/// "in flight" until the wgmma.wait_group that retires its group, and any other instruction that
/// touches one of them before then is reported (on a GPU it would read or clobber an undefined value).
/// </summary>
internal sealed unsafe partial class CtaRunner
{
    private readonly uint[] _wgA = new uint[4 * 32];
    private uint[] _wgC = [];
    private uint[] _wgD = [];
    private WgmmaWarp?[] _wgWarps = [];
    /// <summary>Registers in flight across the CTA's warps (0: nothing to check, the common case).</summary>
    private int _wgInFlight;
    private long _wgCta = -1;

    /// <summary>One warp's wgmma groups: the registers of uncommitted wgmma's, then the committed groups, oldest first.</summary>
    private sealed class WgmmaWarp(int registers)
    {
        public readonly List<int> Open = new();
        public readonly List<List<int>> Committed = new();
        /// <summary>How many groups the warp has committed (the next commit closes group number Groups).</summary>
        public long Groups;
        /// <summary>The warp has executed a wgmma.fence (the ISA requires one before its first wgmma.mma_async).</summary>
        public bool Fenced;
        /// <summary>How many in-flight wgmma's name each register.</summary>
        public readonly int[] Pending = new int[registers];
    }

    private void Hopper(Warp w, Instr ins, uint active, uint at)
    {
        switch (ins.Op)
        {
            case OpCode.Wgmma:
                RequireFullWarp(w, ins, at, active);
                RequireWarpgroup(w, ins);
                Wgmma(w, ins);
                break;
            case OpCode.WgmmaFence:
                // Orders this warp's register accesses before the wgmma's that follow; the
                // interpreter runs a warp's instructions in order, so there is nothing to order.
                RequireFullWarp(w, ins, at, active);
                RequireWarpgroup(w, ins);
                if (WgState(w) is { } f)
                {
                    f.Fenced = true;
                }
                break;
            case OpCode.WgmmaCommit:
                RequireFullWarp(w, ins, at, active);
                RequireWarpgroup(w, ins);
                if (WgState(w) is { } s)
                {
                    s.Committed.Add([.. s.Open]);
                    s.Open.Clear();
                    s.Groups++;
                }
                break;
            case OpCode.WgmmaWait:
            {
                RequireFullWarp(w, ins, at, active);
                RequireWarpgroup(w, ins);
                long n = ins.Ops.Length == 1 && ins.Ops[0].Kind == OperandKind.Imm ? (long)ins.Ops[0].Imm : -1;
                if (n < 0 || n > 7)
                {
                    throw Fault(EmuError.IllegalInstruction, w, 0, _curPc, "wgmma.wait_group takes one integer constant N in 0..7");
                }
                if (WgState(w) is { } g)
                {
                    // Retire all but the N most recent committed groups; uncommitted wgmma's stay in flight.
                    while (g.Committed.Count > n)
                    {
                        foreach (int r in g.Committed[0])
                        {
                            g.Pending[r]--;
                            _wgInFlight--;
                        }
                        g.Committed.RemoveAt(0);
                    }
                    if (_shadow.Async.Busy)
                    {
                        _shadow.Async.Retire(bulk: false, w.Id, g.Groups - n);
                    }
                }
                break;
            }
            case OpCode.StMatrix:
                RequireFullWarp(w, ins, at, active);
                StMatrix(w, ins);
                break;
            case OpCode.Elect:
                Elect(w, ins, active);
                break;
            case OpCode.SetMaxNReg:
                RequireFullWarp(w, ins, at, active);
                SetMaxNReg(w, ins);
                break;
        }
    }

    /// <summary>The warpgroup-wide instructions need all four warps of the warpgroup, each complete.</summary>
    private void RequireWarpgroup(Warp w, Instr ins)
    {
        int first = w.Id & ~3;
        if (first + 3 >= _warps.Length || _warps[first + 3].Exists != uint.MaxValue)
        {
            throw Fault(EmuError.LaunchFailed, w, 0, _curPc,
                $"{ins.Base}.{ins.Parts[0]} is executed by a warpgroup (4 warps, 128 threads), but warp {w.Id}'s warpgroup (warps {first}..{first + 3}) is incomplete in a block of {_ctx.Threads} threads");
        }
    }

    private void Wgmma(Warp w, Instr ins)
    {
        if (ins.Extra is not WgmmaKind kind)
        {
            kind = WgmmaKind.Parse(ins.Parts, out string why)
                ?? throw Fault(EmuError.NotSupported, w, 0, _curPc, $"the emulator does not implement '{ins.Opcode}': {why}");
            ins.Extra = kind;
        }
        if (_ctx.Checks && WgState(w) is { Fenced: false })
        {
            throw Fault(EmuError.LaunchFailed, w, 0, _curPc,
                "wgmma.mma_async before any wgmma.fence in this warp: the ISA requires a wgmma.fence before the first wgmma.mma_async (and between other accesses to its registers and the wgmma)");
        }
        var ops = ins.Ops;
        var dOp = ops[0];
        bool aRegs = ops.Length > 1 && ops[1].Kind == OperandKind.Vector;
        int expected = 3 + kind.ExtraOperands(aRegs);
        if (ops.Length != expected || dOp.Kind != OperandKind.Vector || dOp.Elems.Length != kind.DRegisters
            || (aRegs && ops[1].Elems.Length != WgmmaKind.ARegisters))
        {
            throw Fault(EmuError.IllegalInstruction, w, 0, _curPc,
                $"'{ins.Opcode}' takes {{{kind.DRegisters} d registers}}, {(aRegs ? "{4 a registers}" : "a-desc")}, b-desc and {kind.ExtraOperands(aRegs)} more operands; it has {ops.Length} operands");
        }
        bool scaleD = (Uniform(w, ops[3], "scale-d") & 1) != 0;
        bool negA = false, negB = false, transA = false, transB = false;
        if (!kind.IsInteger)
        {
            negA = ImmScale(w, ops[4], "imm-scale-a");
            negB = ImmScale(w, ops[5], "imm-scale-b");
        }
        if (kind.IsHalf)
        {
            transA = !aRegs && ImmTrans(w, ops[6], "imm-trans-a");
            transB = ImmTrans(w, ops[aRegs ? 6 : 7], "imm-trans-b");
        }
        int eb = kind.ElementBytes;
        var tracked = _ctx.Checks ? WgState(w) : null;
        if (tracked is not null)
        {
            // The async proxy reads the descriptor operands: they must be fenced, and they stay read until the group retires.
            _wgAddrs.Clear();
            _shadow.AsyncReader = "the wgmma";
        }
        int signBit = (8 * eb) - 1;
        var aFrag = _wgA.AsSpan();
        if (aRegs)
        {
            Gather(w, ops[1], _wgA);
            if (negA)
            {
                uint flip = eb == 2 ? 0x8000_8000u : 0x8080_8080u;
                for (int i = 0; i < aFrag.Length; i++)
                {
                    aFrag[i] ^= flip;
                }
            }
        }
        else
        {
            var da = Descriptor(w, ops[1], "a-desc");
            int row0 = 16 * (w.Id & 3);
            Isa.Wgmma.Pack(kind.ALayout, (r, k) => SharedElement(w, da, transA, eb, row0 + r, k), negA ? 1u << signBit : 0, aFrag);
        }
        var db = Descriptor(w, ops[2], "b-desc");
        int words = kind.DRegisters * 32;
        if (_wgC.Length < words)
        {
            _wgC = new uint[words];
            _wgD = new uint[words];
        }
        Gather(w, dOp, _wgC);
        Isa.Wgmma.WarpTile(kind, aFrag, (n, k) => SharedElement(w, db, transB, eb, n, k), negB,
            _wgC.AsSpan(0, words), scaleD, _wgD.AsSpan(0, words));
        _shadow.AsyncReader = null;   // (a fault above ends the launch; BeginCta clears it too)
        if (tracked is not null && _wgAddrs.Count > 0)
        {
            _shadow.Async.AddWgmma(w.Id, tracked.Groups, _curPc, Ranges(_wgAddrs, eb));
        }
        for (int r = 0; r < dOp.Elems.Length; r++)
        {
            for (int l = 0; l < 32; l++)
            {
                Set(w, dOp.Elems[r], l, _wgD[(r * 32) + l]);
            }
        }
        // Each warp issues its quarter: the four together count 2 * 64 * N * K.
        // Counted apart from mma.sync's: the prediction gives wgmma the full datasheet peak.
        Stats.TensorOps[(int)(kind.IsInteger ? TensorPrecision.Int8Wgmma : kind.IsHalf ? TensorPrecision.F16Wgmma : TensorPrecision.Fp8Wgmma)] += kind.Ops / 4;
        if (_ctx.Checks && WgState(w) is { } s)
        {
            foreach (var e in dOp.Elems)
            {
                Track(s, e);
            }
            if (aRegs)
            {
                foreach (var e in ops[1].Elems)
                {
                    Track(s, e);
                }
            }
        }
    }

    private readonly List<int> _wgAddrs = new();

    /// <summary>The sorted, merged byte ranges of elements of <paramref name="bytes"/> bytes at these addresses.</summary>
    private static List<(int Lo, int Hi)> Ranges(List<int> addrs, int bytes)
    {
        addrs.Sort();
        var ranges = new List<(int Lo, int Hi)>();
        int lo = addrs[0], hi = addrs[0] + bytes;
        foreach (int a in addrs)
        {
            if (a > hi)
            {
                ranges.Add((lo, hi));
                lo = a;
            }
            hi = Math.Max(hi, a + bytes);
        }
        ranges.Add((lo, hi));
        return ranges;
    }

    private void Track(WgmmaWarp s, Operand o)
    {
        if (o.Kind == OperandKind.Reg)
        {
            s.Open.Add(o.Reg);
            s.Pending[o.Reg]++;
            _wgInFlight++;
        }
    }

    /// <summary>This warp's group state, (re)created for each CTA.</summary>
    private WgmmaWarp? WgState(Warp w)
    {
        if (_wgCta != _cta || _wgWarps.Length != _warps.Length)
        {
            _wgWarps = new WgmmaWarp?[_warps.Length];
            _wgInFlight = 0;
            _wgCta = _cta;
        }
        return _wgWarps[w.Id] ??= new WgmmaWarp(w.R.Length / 32);
    }

    /// <summary>
    /// Called before every instruction while some wgmma is in flight: an instruction other than a
    /// wgmma that names an in-flight accumulator or A register is a read or write of a value the
    /// tensor cores own until wgmma.wait_group retires it.
    /// </summary>
    private void CheckWgmmaRegisters(Warp w, Instr ins, uint active)
    {
        if (_wgCta != _cta)
        {
            WgState(w);   // a new CTA: the previous one's in-flight wgmma's are gone
            return;
        }
        if (ins.Op == OpCode.Wgmma || _wgWarps[w.Id] is not { } s)
        {
            return;
        }
        foreach (var op in ins.Ops)
        {
            int reg = InFlight(s, op);
            if (reg >= 0)
            {
                string name = reg < _fn.RegisterNames.Count ? _fn.RegisterNames[reg] : $"r{reg}";
                throw Fault(EmuError.LaunchFailed, w, BitOperations.TrailingZeroCount(active), _curPc,
                    $"uses register {name}, an operand of a wgmma.mma_async still in flight: it is undefined until a wgmma.commit_group and the wgmma.wait_group that retires that group");
            }
        }
    }

    private static int InFlight(WgmmaWarp s, Operand o)
    {
        if (o.Kind is OperandKind.Reg or OperandKind.Memory && o.Reg >= 0 && o.Reg < s.Pending.Length && s.Pending[o.Reg] > 0)
        {
            return o.Reg;
        }
        foreach (var e in o.Elems)
        {
            int r = InFlight(s, e);
            if (r >= 0)
            {
                return r;
            }
        }
        return -1;
    }

    /// <summary>A warp-uniform operand's value (descriptors, scale-d): every lane must give the same.</summary>
    private ulong Uniform(Warp w, Operand o, string what)
    {
        ulong v = Get(w, o, 0);
        for (int l = 1; l < 32; l++)
        {
            if (Get(w, o, l) != v)
            {
                throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"wgmma {what} differs across the warp (lane 0: 0x{v:x}, lane {l}: 0x{Get(w, o, l):x}): it must be uniform");
            }
        }
        return v;
    }

    private WgmmaDescriptor Descriptor(Warp w, Operand o, string what)
    {
        var d = WgmmaDescriptor.Decode(Uniform(w, o, what));
        if (d.BaseOffset != 0)
        {
            throw Fault(EmuError.NotSupported, w, 0, _curPc,
                $"{what} has matrix base offset {d.BaseOffset}: the emulator implements swizzle patterns that start on their own alignment (base offset 0) only");
        }
        return d;
    }

    private bool ImmScale(Warp w, Operand o, string what)
    {
        long v = o.Kind == OperandKind.Imm ? (long)o.Imm : 0;
        if (v is not (1 or -1))
        {
            throw Fault(EmuError.IllegalInstruction, w, 0, _curPc, $"wgmma {what} must be the constant 1 or -1");
        }
        return v == -1;
    }

    private bool ImmTrans(Warp w, Operand o, string what)
    {
        long v = o.Kind == OperandKind.Imm ? (long)o.Imm : -1;
        if (v is not (0 or 1))
        {
            throw Fault(EmuError.IllegalInstruction, w, 0, _curPc, $"wgmma {what} must be the constant 0 or 1");
        }
        return v == 1;
    }

    /// <summary>Element (mn, k) of a descriptor operand, read from shared memory (bounds- and initialisation-checked).</summary>
    private uint SharedElement(Warp w, in WgmmaDescriptor d, bool mnMajor, int bytes, int mn, int k)
    {
        uint addr = d.Address(mnMajor, bytes, mn, k);
        if (_shadow.AsyncReader is not null)
        {
            _wgAddrs.Add((int)addr);
        }
        byte* p = Locate(w, 0, Space.Shared, addr, bytes, write: false);
        return bytes == 2 ? *(ushort*)p : *p;
    }

    private void StMatrix(Warp w, Instr ins)
    {
        // stmatrix.sync.aligned.m8n8.x{1,2,4}{.trans}.shared{::cta}.b16 [p], {r...}
        int count = ins.Has("x4") ? 4 : ins.Has("x2") ? 2 : ins.Has("x1") ? 1 : 0;
        if (count == 0 || !ins.Has("m8n8") || !ins.Has("b16") || ins.Ops.Length != 2 || ins.Ops[1].Elems.Length != count)
        {
            throw Fault(EmuError.NotSupported, w, 0, _curPc, $"the emulator implements stmatrix .m8n8.x1/.x2/.x4{{.trans}}.shared.b16 with one register per matrix only ('{ins.Opcode}')");
        }
        bool trans = ins.Has("trans");
        var mem = ins.Ops[0];
        var src = ins.Ops[1];
        Span<ulong> rows = stackalloc ulong[32];
        MatrixRows(w, ins, mem, count, write: true, rows);
        var frag = _wgA.AsSpan(0, count * 32);
        for (int i = 0; i < count; i++)
        {
            for (int l = 0; l < 32; l++)
            {
                frag[(i * 32) + l] = (uint)Get(w, src.Elems[i], l);
            }
        }
        Isa.LdMatrix.Store(count, trans, rows, frag, (addr, value) => BitConverter.TryWriteBytes(_shared.AsSpan((int)addr, 4), value));
        CountMatrixRows(rows, count);
    }

    private void Elect(Warp w, Instr ins, uint active)
    {
        // elect.sync d|p, membermask: one leader among the member lanes; d gets its lane id in every
        // lane, p is true in the leader only. The ISA does not say which member leads; the emulator
        // takes the lowest-numbered one, which is what a kernel may not rely on but may observe.
        var ops = ins.Ops;
        int first = BitOperations.TrailingZeroCount(active);
        uint member = (uint)Get(w, ops[^1], first);
        RequireMembers(w, ins, member, active);
        uint lanes = member & active;
        int leader = BitOperations.TrailingZeroCount(lanes);
        var d = ops[0].Kind == OperandKind.Vector ? ops[0].Elems[0] : ops[0];
        var p = ops[0].Kind == OperandKind.Vector ? ops[0].Elems[1] : null;
        ForLanes(lanes, l =>
        {
            Set(w, d, l, (ulong)leader);
            if (p is not null)
            {
                Set(w, p, l, l == leader ? 1UL : 0UL);
            }
        });
    }

    private void SetMaxNReg(Warp w, Instr ins)
    {
        // setmaxnreg.{inc,dec}.sync.aligned.u32 N: a register-allocation hint for the warp; the
        // interpreter's register file is not limited, so only the operand is checked.
        long n = ins.Ops.Length == 1 && ins.Ops[0].Kind == OperandKind.Imm ? (long)ins.Ops[0].Imm : -1;
        if (!(ins.Has("inc") || ins.Has("dec")))
        {
            throw Fault(EmuError.NotSupported, w, 0, _curPc, $"the emulator does not implement '{ins.Opcode}' (setmaxnreg.inc or .dec)");
        }
        if (n < 24 || n > 256 || n % 8 != 0)
        {
            throw Fault(EmuError.IllegalInstruction, w, 0, _curPc,
                $"setmaxnreg register count {n} is invalid: it must be a constant multiple of 8 in 24..256");
        }
    }
}
