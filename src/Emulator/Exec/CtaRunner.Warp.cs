using System.Numerics;
using Zoetrope.Emulator.Isa;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// The instructions whose semantics live in Isa/ (conversions, special functions, packed halves,
/// tensor-core fragments, ldmatrix) and the warp-wide ones (shfl, vote, redux), which read every
/// participating lane before any lane writes.
/// </summary>
internal sealed unsafe partial class CtaRunner
{
    private readonly uint[] _fragA = new uint[8 * 32];
    private readonly uint[] _fragB = new uint[4 * 32];
    private readonly uint[] _fragC = new uint[8 * 32];
    private readonly uint[] _fragD = new uint[8 * 32];
    private readonly uint[] _vals = new uint[32];
    private readonly uint[] _bs = new uint[32];
    private readonly uint[] _cs = new uint[32];
    private readonly uint[] _out = new uint[32];
    private readonly bool[] _predOut = new bool[32];

    private void Convert(Warp w, Instr ins, uint active)
    {
        if (ins.Extra is not CvtSpec spec)
        {
            try
            {
                spec = CvtSpec.Parse(ins.Opcode);
            }
            catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException)
            {
                throw Fault(EmuError.NotSupported, w, BitOperations.TrailingZeroCount(active), _curPc, $"the emulator does not implement '{ins.Opcode}': {e.Message}");
            }
            ins.Extra = spec;
        }
        var ops = ins.Ops;
        bool two = ops.Length > 2;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong r = two ? Cvt.Convert2(spec, Get(w, ops[1], l), Get(w, ops[2], l)) : Cvt.Convert(spec, Get(w, ops[1], l));
            Set(w, ops[0], l, r);
        }
    }

    private void SpecialFunction(Warp w, Instr ins, uint active)
    {
        bool ftz = ins.Ftz;
        bool approx = ins.Has("approx");
        var t = ins.Type;
        var rnd = (FpRounding)(byte)ins.Rounding;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong a = Get(w, ins.Ops[1], l);
            ulong r;
            if (t == PtxType.F64)
            {
                r = ins.Op switch
                {
                    OpCode.Rcp when approx => Approx.RcpApproxFtzF64(a),
                    OpCode.Rcp => Approx.DivF64(0x3FF0_0000_0000_0000UL, a, rnd),
                    OpCode.Sqrt => Approx.SqrtF64(a, rnd),
                    OpCode.Rsqrt => ftz ? Approx.RsqrtApproxFtzF64(a) : Approx.RsqrtApproxF64(a),
                    _ => throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'"),
                };
            }
            else if (t == PtxType.F32)
            {
                uint x = (uint)a;
                r = ins.Op switch
                {
                    OpCode.Ex2 => Approx.Ex2F32(x, ftz),
                    OpCode.Lg2 => Approx.Lg2F32(x, ftz),
                    OpCode.Rcp => approx ? Approx.RcpApproxF32(x, ftz) : Approx.RcpF32(x, rnd, ftz),
                    OpCode.Rsqrt => Approx.RsqrtApproxF32(x, ftz),
                    OpCode.Sqrt => approx ? Approx.SqrtApproxF32(x, ftz) : Approx.SqrtF32(x, rnd, ftz),
                    OpCode.Tanh => Approx.TanhF32(x),
                    OpCode.Sin => Approx.SinF32(x, ftz),
                    OpCode.Cos => Approx.CosF32(x, ftz),
                    _ => throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'"),
                };
            }
            else if (t is PtxType.F16 or PtxType.BF16 or PtxType.F16x2 or PtxType.BF16x2 && ins.Op is OpCode.Ex2 or OpCode.Tanh)
            {
                bool bf = t is PtxType.BF16 or PtxType.BF16x2;
                bool packed = t is PtxType.F16x2 or PtxType.BF16x2;
                r = ins.Op == OpCode.Ex2
                    ? packed ? Approx.Ex2Half2((uint)a, bf) : Approx.Ex2Half((ushort)a, bf)
                    : packed ? Approx.TanhHalf2((uint)a, bf) : Approx.TanhHalf((ushort)a, bf);
            }
            else
            {
                throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'");
            }
            Set(w, ins.Ops[0], l, r);
        }
    }

    private void HalfArith(Warp w, Instr ins, uint active)
    {
        bool bf = ins.Type is PtxType.BF16 or PtxType.BF16x2;
        bool packed = ins.Type is PtxType.F16x2 or PtxType.BF16x2;
        var mods = (ins.Ftz ? HalfMods.Ftz : 0) | (ins.Sat ? HalfMods.Sat : 0) | (ins.Has("relu") ? HalfMods.Relu : 0)
            | (ins.NaNMode ? HalfMods.NaN : 0) | (ins.Has("xorsign") ? HalfMods.XorSignAbs : 0);
        if (ins.Rounding != Rounding.Nearest)
        {
            throw Fault(EmuError.NotSupported, w, BitOperations.TrailingZeroCount(active), _curPc, $"the emulator implements half arithmetic in .rn only ('{ins.Opcode}')");
        }
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            uint a = (uint)Get(w, ins.Ops[1], l);
            uint b = ins.Ops.Length > 2 ? (uint)Get(w, ins.Ops[2], l) : 0;
            uint c = ins.Ops.Length > 3 ? (uint)Get(w, ins.Ops[3], l) : 0;
            uint r = packed
                ? ins.Op switch
                {
                    OpCode.Add => Half2.Add(a, b, bf, mods),
                    OpCode.Sub => Half2.Sub(a, b, bf, mods),
                    OpCode.Mul => Half2.Mul(a, b, bf, mods),
                    OpCode.Fma or OpCode.Mad => Half2.Fma(a, b, c, bf, mods),
                    OpCode.Min => Half2.Min(a, b, bf, mods),
                    OpCode.Max => Half2.Max(a, b, bf, mods),
                    OpCode.Neg => Half2.Neg(a, bf, mods),
                    OpCode.Abs => Half2.Abs(a, bf, mods),
                    _ => throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'"),
                }
                : ins.Op switch
                {
                    OpCode.Add => HalfOps.Add((ushort)a, (ushort)b, bf, mods),
                    OpCode.Sub => HalfOps.Sub((ushort)a, (ushort)b, bf, mods),
                    OpCode.Mul => HalfOps.Mul((ushort)a, (ushort)b, bf, mods),
                    OpCode.Fma or OpCode.Mad => HalfOps.Fma((ushort)a, (ushort)b, (ushort)c, bf, mods),
                    OpCode.Min => HalfOps.Min((ushort)a, (ushort)b, bf, mods),
                    OpCode.Max => HalfOps.Max((ushort)a, (ushort)b, bf, mods),
                    OpCode.Neg => HalfOps.Neg((ushort)a, bf, mods),
                    OpCode.Abs => HalfOps.Abs((ushort)a, bf, mods),
                    _ => throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'"),
                };
            Set(w, ins.Ops[0], l, r);
        }
    }

    private void LdMatrix(Warp w, Instr ins)
    {
        int count = ins.Has("x4") ? 4 : ins.Has("x2") ? 2 : 1;
        bool trans = ins.Has("trans");
        var mem = ins.Ops[1];
        var dst = ins.Ops[0];
        Span<ulong> rows = stackalloc ulong[32];
        MatrixRows(w, ins, mem, count, write: false, rows);
        var frag = _fragD.AsSpan(0, count * 32);
        Isa.LdMatrix.Execute(count, trans, rows, addr => BitConverter.ToUInt32(_shared, (int)addr), frag);
        for (int i = 0; i < count; i++)
        {
            for (int l = 0; l < 32; l++)
            {
                Set(w, dst.Elems[i], l, frag[(i * 32) + l]);
            }
        }
        CountMatrixRows(rows, count);
    }

    /// <summary>
    /// ldmatrix/stmatrix row addresses: every lane's address operand, in shared memory; lanes
    /// 0..8*count-1 name the rows, each 16 contiguous bytes, checked (read or written) here.
    /// </summary>
    private void MatrixRows(Warp w, Instr ins, Operand mem, int count, bool write, Span<ulong> rows)
    {
        for (int l = 0; l < 32; l++)
        {
            ulong a = Address(w, mem, l);
            var space = Resolve(ins.Space, ref a);
            if (space != Space.Shared)
            {
                throw Fault(EmuError.IllegalAddress, w, l, _curPc, $"{ins.Base} row address is not in shared memory");
            }
            rows[l] = a;
            if (l < 8 * count)
            {
                Locate(w, l, Space.Shared, a, 16, write);
            }
        }
    }

    /// <summary>Counts an ldmatrix/stmatrix's shared wavefronts: one phase per 8x8 matrix, its eight 16-byte rows.</summary>
    private void CountMatrixRows(ReadOnlySpan<ulong> rows, int count)
    {
        for (int i = 0; i < count; i++)
        {
            for (int l = 0; l < 32; l++)
            {
                _laneAddr[l] = rows[l];
            }
            CountShared(0xFFu << (8 * i), 16);
        }
    }

    private void Mma(Warp w, Instr ins)
    {
        var kind = (MmaKind)(ins.Extra ??= MmaKind.Parse(ins));
        var (d, a, b, c) = (ins.Ops[0], ins.Ops[1], ins.Ops[2], ins.Ops[3]);
        Gather(w, a, _fragA);
        Gather(w, b, _fragB);
        Gather(w, c, _fragC);
        var fa = _fragA.AsSpan(0, a.Elems.Length * 32);
        var fb = _fragB.AsSpan(0, b.Elems.Length * 32);
        var fc = _fragC.AsSpan(0, c.Elems.Length * 32);
        var fd = _fragD.AsSpan(0, d.Elems.Length * 32);
        switch (kind.Shape)
        {
            case "m16n8k16" when kind.AType is "f16" or "bf16" && kind.DType == "f32":
                Isa.Mma.M16N8K16F32(fa, fb, fc, fd, kind.AType == "bf16");
                break;
            case "m16n8k8" when kind.AType is "f16" or "bf16" && kind.DType == "f32":
                Isa.Mma.M16N8K8F32(fa, fb, fc, fd, kind.AType == "bf16");
                break;
            case "m16n8k16" when kind.AType is "s8" or "u8" && kind.DType == "s32":
                Isa.Mma.M16N8K16S32(fa, fb, fc, fd, kind.AType == "s8", kind.BType == "s8", kind.SatFinite);
                break;
            case "m16n8k32" when kind.AType is "s8" or "u8" && kind.DType == "s32":
                Isa.Mma.M16N8K32S32(fa, fb, fc, fd, kind.AType == "s8", kind.BType == "s8", kind.SatFinite);
                break;
            case "m16n8k32" when kind.AType is "e4m3" or "e5m2" && kind.DType == "f32":
                Isa.Mma.M16N8K32Fp8F32(fa, fb, fc, fd, kind.AType == "e5m2", kind.BType == "e5m2");
                break;
            default:
                throw Fault(EmuError.NotSupported, w, 0, _curPc, $"the emulator does not implement '{ins.Opcode}'");
        }
        Stats.TensorOps[(int)kind.Precision] += kind.Ops;
        for (int r = 0; r < d.Elems.Length; r++)
        {
            for (int l = 0; l < 32; l++)
            {
                Set(w, d.Elems[r], l, fd[(r * 32) + l]);
            }
        }
    }

    private void Gather(Warp w, Operand vec, uint[] frag)
    {
        for (int r = 0; r < vec.Elems.Length; r++)
        {
            for (int l = 0; l < 32; l++)
            {
                frag[(r * 32) + l] = (uint)Get(w, vec.Elems[r], l);
            }
        }
    }

    private void WarpOp(Warp w, Instr ins, uint active, uint at)
    {
        var ops = ins.Ops;
        int first = BitOperations.TrailingZeroCount(active);
        switch (ins.Op)
        {
            case OpCode.Activemask:
                ForLanes(active, l => Set(w, ops[0], l, at));
                return;
            case OpCode.Shfl:
            {
                // shfl.sync.mode.b32 d[|p], a, b, c, membermask
                uint member = (uint)Get(w, ops[4], first);
                RequireMembers(w, ins, member, active);
                for (int l = 0; l < 32; l++)
                {
                    if ((w.Exists & (1u << l)) == 0)
                    {
                        continue;
                    }
                    _vals[l] = (uint)Get(w, ops[1], l);
                    _bs[l] = (uint)Get(w, ops[2], l);
                    _cs[l] = (uint)Get(w, ops[3], l);
                }
                var mode = ins.Has("idx") ? ShflMode.Idx : ins.Has("up") ? ShflMode.Up : ins.Has("down") ? ShflMode.Down : ShflMode.Bfly;
                uint undefined = WarpOps.Shfl(mode, _vals, _bs, _cs, member, active, _out, _predOut);
                if (undefined != 0 && _ctx.Checks)
                {
                    throw Fault(EmuError.LaunchFailed, w, BitOperations.TrailingZeroCount(undefined), _curPc,
                        $"shfl.sync reads a lane that does not execute it (lanes 0x{undefined:x8} get an undefined value)");
                }
                var dst = ops[0].Kind == OperandKind.Vector ? ops[0].Elems[0] : ops[0];
                var pred = ops[0].Kind == OperandKind.Vector ? ops[0].Elems[1] : null;
                ForLanes(active, l =>
                {
                    Set(w, dst, l, _out[l]);
                    if (pred is not null)
                    {
                        Set(w, pred, l, _predOut[l] ? 1UL : 0UL);
                    }
                });
                return;
            }
            case OpCode.Vote:
            {
                // vote.sync.mode.pred d, {!}a, membermask ; vote.sync.ballot.b32 d, {!}a, membermask
                uint member = (uint)Get(w, ops[2], first);
                RequireMembers(w, ins, member, active);
                uint ballot = 0;
                ForLanes(active, l =>
                {
                    if ((Get(w, ops[1], l) & 1) != 0)
                    {
                        ballot |= 1u << l;
                    }
                });
                ulong Result() => ins.Has("ballot") ? ballot
                    : ins.Has("all") ? ((ballot & active) == active ? 1UL : 0UL)
                    : ins.Has("any") ? (ballot != 0 ? 1UL : 0UL)
                    : ((ballot & active) == active || ballot == 0) ? 1UL : 0UL;
                ulong v = Result();
                ForLanes(active, l => Set(w, ops[0], l, v));
                return;
            }
            case OpCode.Redux:
            {
                uint member = (uint)Get(w, ops[2], first);
                RequireMembers(w, ins, member, active);
                bool signed = ins.Type == PtxType.S32;
                // The operation is decoded once per instruction, not per lane.
                var op = ins.Has("add") ? 0 : ins.Has("min") ? 1 : ins.Has("max") ? 2 : ins.Has("and") ? 3 : ins.Has("or") ? 4 : 5;
                long acc = op switch { 1 => long.MaxValue, 2 => long.MinValue, 3 => -1, _ => 0 };
                ForLanes(active, l =>
                {
                    long v = signed ? (int)Get(w, ops[1], l) : (uint)Get(w, ops[1], l);
                    acc = op switch { 0 => acc + v, 1 => Math.Min(acc, v), 2 => Math.Max(acc, v), 3 => acc & v, 4 => acc | v, _ => acc ^ v };
                });
                ForLanes(active, l => Set(w, ops[0], l, (uint)acc));
                return;
            }
        }
    }

    private void RequireMembers(Warp w, Instr ins, uint member, uint active)
    {
        if ((member & ~active & w.Exists) != 0 && _ctx.Checks)
        {
            throw Fault(EmuError.LaunchFailed, w, BitOperations.TrailingZeroCount(active), _curPc,
                $"{ins.Base}.sync with member mask 0x{member:x8} but only lanes 0x{active:x8} execute it together (the others diverged or exited)");
        }
    }

    private static void ForLanes(uint mask, Action<int> f)
    {
        while (mask != 0)
        {
            int l = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            f(l);
        }
    }
}

/// <summary>An mma.sync's decoded shape and types.</summary>
internal sealed record MmaKind(string Shape, string DType, string AType, string BType, string CType, bool SatFinite)
{
    public static MmaKind Parse(Instr ins)
    {
        // mma.sync.aligned.SHAPE.row.col{.satfinite}.DTYPE.ATYPE.BTYPE.CTYPE
        var p = ins.Parts;
        string shape = p.First(x => x.StartsWith('m') && x.Contains('n') && x.Contains('k'));
        var types = p.Where(x => x is "f16" or "bf16" or "f32" or "s32" or "s8" or "u8" or "e4m3" or "e5m2" or "tf32" or "f64").ToArray();
        if (types.Length != 4)
        {
            throw new EmulatorException(EmuError.NotSupported, $"cannot read the types of '{ins.Opcode}'");
        }
        return new MmaKind(shape, types[0], types[1], types[2], types[3], p.Contains("satfinite"));
    }

    /// <summary>Multiply-adds times two of one warp's instruction: 2 m n k (m16n8k16 is 4096).</summary>
    public long Ops
    {
        get
        {
            int n = Shape.IndexOf('n'), k = Shape.IndexOf('k');
            return 2L * int.Parse(Shape.AsSpan(1, n - 1)) * int.Parse(Shape.AsSpan(n + 1, k - n - 1)) * int.Parse(Shape.AsSpan(k + 1));
        }
    }

    /// <summary>Which tensor-core rate the instruction runs at (its A type).</summary>
    public TensorPrecision Precision => AType switch
    {
        "s8" or "u8" => TensorPrecision.Int8,
        "e4m3" or "e5m2" => TensorPrecision.Fp8,
        _ => TensorPrecision.F16,
    };
}
