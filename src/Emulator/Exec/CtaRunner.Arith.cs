using System.Numerics;
using Zoetrope.Emulator.Isa;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>Integer, f32/f64 arithmetic, logic and comparisons: one lane at a time, as the PTX ISA defines each.</summary>
internal sealed partial class CtaRunner
{
    private void Arith(Warp w, Instr ins, uint active)
    {
        var t = ins.Type;
        if (t is PtxType.F16 or PtxType.F16x2 or PtxType.BF16 or PtxType.BF16x2)
        {
            HalfArith(w, ins, active);
            return;
        }
        if (ins.Has("cc"))
        {
            throw Fault(EmuError.NotSupported, w, BitOperations.TrailingZeroCount(active), _curPc, $"the emulator does not implement carry chains ('{ins.Opcode}')");
        }
        var ops = ins.Ops;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong a = Get(w, ops[1], l);
            ulong b = ops.Length > 2 ? Get(w, ops[2], l) : 0;
            ulong c = ops.Length > 3 ? Get(w, ops[3], l) : 0;
            ulong r = t switch
            {
                PtxType.F32 => F32Op(ins, (uint)a, (uint)b, (uint)c),
                PtxType.F64 => F64Op(w, l, ins, a, b, c),
                _ => IntOp(w, l, ins, a, b, c),
            };
            Set(w, ops[0], l, r);
        }
    }

    private static ulong F32Op(Instr ins, uint ab, uint bb, uint cb)
    {
        bool ftz = ins.Ftz;
        float a = BitConverter.UInt32BitsToSingle(ab);
        float b = BitConverter.UInt32BitsToSingle(bb);
        float c = BitConverter.UInt32BitsToSingle(cb);
        if (ftz)
        {
            a = Fp32.Ftz(a);
            b = Fp32.Ftz(b);
            c = Fp32.Ftz(c);
        }
        var rnd = ins.Rounding;
        float r;
        switch (ins.Op)
        {
            case OpCode.Add: r = Fp32.Add(a, b, rnd); break;
            case OpCode.Sub: r = Fp32.Add(a, -b, rnd); break;
            case OpCode.Mul: r = Fp32.Mul(a, b, rnd); break;
            case OpCode.Mad or OpCode.Fma: r = Fp32.Fma(a, b, c, rnd); break;
            // The ISA's division lives in Isa/Approx (exact in every rounding mode; .approx and .full
            // with their stated error models); it flushes for .ftz itself.
            case OpCode.Div:
                return ins.Has("approx") ? Approx.DivApproxF32(ab, bb, ftz)
                    : ins.Has("full") ? Approx.DivFullF32(ab, bb, ftz)
                    : Approx.DivF32(ab, bb, (FpRounding)(byte)rnd, ftz);
            case OpCode.Min: r = Fp32.MinMax(a, b, max: false, ins.NaNMode); break;
            case OpCode.Max: r = Fp32.MinMax(a, b, max: true, ins.NaNMode); break;
            case OpCode.Abs: return ftz && float.IsSubnormal(BitConverter.UInt32BitsToSingle(ab)) ? 0 : ab & 0x7FFF_FFFF;
            case OpCode.Neg: return ftz && float.IsSubnormal(BitConverter.UInt32BitsToSingle(ab)) ? (ab & 0x8000_0000) ^ 0x8000_0000 : ab ^ 0x8000_0000;
            case OpCode.Copysign: return (bb & 0x7FFF_FFFF) | (ab & 0x8000_0000);
            default: throw new InvalidOperationException($"{ins.Opcode} is not an f32 operation");
        }
        if (ftz)
        {
            r = Fp32.Ftz(r);
        }
        if (ins.Sat)
        {
            r = float.IsNaN(r) ? 0f : Math.Clamp(r, 0f, 1f);
        }
        return Fp32.Bits(r);
    }

    private ulong F64Op(Warp w, int lane, Instr ins, ulong ab, ulong bb, ulong cb)
    {
        if (ins.Rounding != Rounding.Nearest)
        {
            throw Fault(EmuError.NotSupported, w, lane, _curPc, $"the emulator implements f64 arithmetic in .rn only ('{ins.Opcode}')");
        }
        double a = BitConverter.UInt64BitsToDouble(ab);
        double b = BitConverter.UInt64BitsToDouble(bb);
        double c = BitConverter.UInt64BitsToDouble(cb);
        double r = ins.Op switch
        {
            OpCode.Add => a + b,
            OpCode.Sub => a - b,
            OpCode.Mul => a * b,
            OpCode.Mad or OpCode.Fma => Math.FusedMultiplyAdd(a, b, c),
            OpCode.Div => a / b,
            OpCode.Min => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Min(a, b),
            OpCode.Max => double.IsNaN(a) ? b : double.IsNaN(b) ? a : Math.Max(a, b),
            OpCode.Abs => Math.Abs(a),
            OpCode.Neg => -a,
            OpCode.Copysign => Math.CopySign(b, a),
            _ => throw new InvalidOperationException($"{ins.Opcode} is not an f64 operation"),
        };
        return double.IsNaN(r) ? 0x7FFF_FFFF_FFFF_FFFFUL : BitConverter.DoubleToUInt64Bits(r);
    }

    private ulong IntOp(Warp w, int lane, Instr ins, ulong a, ulong b, ulong c)
    {
        var t = ins.Type;
        int bits = t.Size() * 8;
        bool signed = t.IsSigned();
        long sa = (long)t.Extend(a), sb = (long)t.Extend(b), sc;
        ulong ua = t.Extend(a), ub = t.Extend(b);
        bool wide = ins.Wide;
        bool hi = ins.Hi;
        switch (ins.Op)
        {
            case OpCode.Add:
                if (ins.Sat)
                {
                    return (ulong)(uint)(int)Math.Clamp(sa + sb, int.MinValue, int.MaxValue);
                }
                return (ua + ub) & Mask(bits);
            case OpCode.Sub:
                if (ins.Sat)
                {
                    return (ulong)(uint)(int)Math.Clamp(sa - sb, int.MinValue, int.MaxValue);
                }
                return (ua - ub) & Mask(bits);
            case OpCode.Mul:
            case OpCode.Mad:
            {
                ulong lo;
                ulong high;
                if (signed)
                {
                    var p = (Int128)sa * sb;
                    lo = (ulong)p;
                    high = (ulong)(p >> bits);
                    if (bits == 64)
                    {
                        high = (ulong)(p >> 64);
                    }
                }
                else
                {
                    var p = (UInt128)ua * ub;
                    lo = (ulong)p;
                    high = (ulong)(p >> bits);
                }
                ulong r;
                int outBits = bits;
                if (wide)
                {
                    r = lo; // the full 2*bits product; bits <= 32 here
                    outBits = bits * 2;
                }
                else if (hi)
                {
                    r = high & Mask(bits);
                }
                else
                {
                    r = lo & Mask(bits);
                }
                if (ins.Op == OpCode.Mad)
                {
                    ulong cc = outBits == 64 ? c : c & Mask(outBits);
                    if (ins.Sat && signed && hi)
                    {
                        sc = (long)(int)c;
                        return (ulong)(uint)(int)Math.Clamp((long)(int)r + sc, int.MinValue, int.MaxValue);
                    }
                    r += cc;
                }
                return r & Mask(outBits);
            }
            case OpCode.Div:
                if (ub == 0)
                {
                    return Mask(bits); // undefined in PTX; the GPU gives all ones
                }
                if (signed)
                {
                    if (sb == -1)
                    {
                        return unchecked((ulong)(-sa)) & Mask(bits);
                    }
                    return (ulong)(sa / sb) & Mask(bits);
                }
                return (ua / ub) & Mask(bits);
            case OpCode.Rem:
                if (ub == 0)
                {
                    return ua & Mask(bits);
                }
                if (signed)
                {
                    return sb == -1 ? 0 : (ulong)(sa % sb) & Mask(bits);
                }
                return (ua % ub) & Mask(bits);
            case OpCode.Min:
                return (signed ? (ulong)Math.Min(sa, sb) : Math.Min(ua, ub)) & Mask(bits);
            case OpCode.Max:
                return (signed ? (ulong)Math.Max(sa, sb) : Math.Max(ua, ub)) & Mask(bits);
            case OpCode.Abs:
                return unchecked(sa < 0 ? (ulong)(-sa) : (ulong)sa) & Mask(bits);
            case OpCode.Neg:
                return unchecked((ulong)(-sa)) & Mask(bits);
            default:
                throw Fault(EmuError.NotSupported, w, lane, _curPc, $"the emulator does not implement '{ins.Opcode}'");
        }
    }

    private void Logic(Warp w, Instr ins, uint active)
    {
        var t = ins.Type;
        int bits = t == PtxType.Pred ? 1 : t.Size() * 8;
        var ops = ins.Ops;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong a = Get(w, ops[1], l);
            ulong b = ops.Length > 2 ? Get(w, ops[2], l) : 0;
            ulong c = ops.Length > 3 ? Get(w, ops[3], l) : 0;
            ulong r;
            switch (ins.Op)
            {
                case OpCode.And: r = a & b; break;
                case OpCode.Or: r = a | b; break;
                case OpCode.Xor: r = a ^ b; break;
                case OpCode.Not: r = ~a; break;
                case OpCode.Cnot: r = (a & Mask(bits)) == 0 ? 1UL : 0UL; break;
                case OpCode.Shl:
                {
                    uint s = (uint)b;
                    r = s >= bits ? 0 : a << (int)s;
                    break;
                }
                case OpCode.Shr:
                {
                    uint s = (uint)b;
                    if (t.IsSigned())
                    {
                        long v = (long)t.Extend(a);
                        r = (ulong)(v >> (int)Math.Min(s, 63u));
                    }
                    else
                    {
                        r = s >= bits ? 0 : (a & Mask(bits)) >> (int)s;
                    }
                    break;
                }
                case OpCode.Popc: r = (ulong)BitOperations.PopCount(a & Mask(bits)); break;
                case OpCode.Clz: r = (ulong)(bits == 64 ? BitOperations.LeadingZeroCount(a) : BitOperations.LeadingZeroCount((uint)a)); break;
                case OpCode.Brev:
                {
                    ulong v = a & Mask(bits);
                    ulong rv = 0;
                    for (int i = 0; i < bits; i++)
                    {
                        rv |= ((v >> i) & 1) << (bits - 1 - i);
                    }
                    r = rv;
                    break;
                }
                case OpCode.Bfe:
                {
                    int pos = (int)(b & 0xFF);
                    int len = (int)(c & 0xFF);
                    ulong v = a & Mask(bits);
                    if (len == 0 || pos >= bits)
                    {
                        r = t.IsSigned() && len != 0 && ((v >> (bits - 1)) & 1) != 0 ? Mask(bits) : 0;
                    }
                    else
                    {
                        len = Math.Min(len, 64);
                        ulong field = (v >> pos) & Mask(len);
                        int top = Math.Min(pos + len, bits) - 1;
                        bool sign = t.IsSigned() && ((v >> top) & 1) != 0;
                        int have = Math.Min(len, bits - pos);
                        r = sign ? field | (~Mask(have)) : field & Mask(have);
                    }
                    break;
                }
                case OpCode.Bfi:
                {
                    ulong d = ops.Length > 4 ? Get(w, ops[4], l) : 0;
                    int pos = (int)(c & 0xFF);
                    int len = (int)(d & 0xFF);
                    r = b;
                    if (len > 0 && pos < bits)
                    {
                        ulong fm = Mask(Math.Min(len, bits - pos)) << pos;
                        r = (b & ~fm) | ((a << pos) & fm);
                    }
                    break;
                }
                case OpCode.Prmt:
                    try
                    {
                        r = Prmt((uint)a, (uint)b, (uint)c, ins.Parts);
                    }
                    catch (NotSupportedException e)
                    {
                        // An EmulatorException names the kernel and line; a bare one would escape the launch as an internal error.
                        throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}': {e.Message}");
                    }
                    break;
                default:
                    throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}'");
            }
            Set(w, ops[0], l, r & Mask(bits));
        }
    }

    /// <summary>
    /// The PTX ISA's table for the prmt modes other than the default: for selector c[1:0], the byte
    /// of {b, a} each result byte d.b0 .. d.b3 takes (the ISA lists d.b3 first).
    /// </summary>
    private static readonly Dictionary<string, byte[][]> PrmtModes = new(StringComparer.Ordinal)
    {
        ["f4e"] = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]],
        ["b4e"] = [[0, 7, 6, 5], [1, 0, 7, 6], [2, 1, 0, 7], [3, 2, 1, 0]],
        ["rc8"] = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]],
        ["ecl"] = [[0, 1, 2, 3], [1, 1, 2, 3], [2, 2, 2, 3], [3, 3, 3, 3]],
        ["ecr"] = [[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 2, 2], [0, 1, 2, 3]],
        ["rc16"] = [[0, 1, 0, 1], [2, 3, 2, 3], [0, 1, 0, 1], [2, 3, 2, 3]],
    };

    /// <summary>
    /// prmt.b32{.mode}: the default mode's selector nibbles each pick a byte of {b, a} (8 bytes),
    /// bit 3 replicating that byte's sign; a named mode (the part after .b32) picks by c[1:0] from
    /// <see cref="PrmtModes"/>, without sign replication.
    /// </summary>
    private static uint Prmt(uint a, uint b, uint c, string[] parts)
    {
        ulong bytes = ((ulong)b << 32) | a;
        string? mode = parts.Length < 2 ? null : parts[0] == "b32" ? parts[1] : parts[0];
        uint r = 0;
        if (mode is not null)
        {
            if (!PrmtModes.TryGetValue(mode, out var table))
            {
                throw new NotSupportedException($"prmt mode .{mode}");
            }
            var row = table[c & 3];
            for (int i = 0; i < 4; i++)
            {
                r |= (uint)((bytes >> (8 * row[i])) & 0xFF) << (8 * i);
            }
            return r;
        }
        for (int i = 0; i < 4; i++)
        {
            uint sel = (c >> (4 * i)) & 0xF;
            uint v = (uint)(bytes >> (int)(8 * (sel & 7))) & 0xFF;
            if ((sel & 8) != 0)
            {
                v = (v & 0x80) != 0 ? 0xFFu : 0u;
            }
            r |= v << (8 * i);
        }
        return r;
    }

    private void Compare(Warp w, Instr ins, uint active)
    {
        var ops = ins.Ops;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            switch (ins.Op)
            {
                case OpCode.Selp:
                {
                    bool p = (Get(w, ops[3], l) & 1) != 0;
                    Set(w, ops[0], l, p ? Get(w, ops[1], l) : Get(w, ops[2], l));
                    break;
                }
                case OpCode.Testp:
                {
                    ulong a = Get(w, ops[1], l);
                    double v = ins.Type == PtxType.F64 ? BitConverter.UInt64BitsToDouble(a) : BitConverter.UInt32BitsToSingle((uint)a);
                    bool r = ins.Parts[0] switch
                    {
                        "finite" => double.IsFinite(v),
                        "infinite" => double.IsInfinity(v),
                        "number" => !double.IsNaN(v),
                        "notanumber" => double.IsNaN(v),
                        "normal" => ins.Type == PtxType.F64 ? double.IsNormal(v) : float.IsNormal((float)v),
                        "subnormal" => ins.Type == PtxType.F64 ? double.IsSubnormal(v) : float.IsSubnormal((float)v),
                        _ => throw Fault(EmuError.NotSupported, w, l, _curPc, $"testp.{ins.Parts[0]}"),
                    };
                    Set(w, ops[0], l, r ? 1UL : 0UL);
                    break;
                }
                default:
                {
                    bool r;
                    try
                    {
                        r = Cmp(ins, ins.Op == OpCode.Set ? ins.Type2 : ins.Type, Get(w, ops[1], l), Get(w, ops[2], l));
                    }
                    catch (NotSupportedException e)
                    {
                        throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}': {e.Message}");
                    }
                    // setp.cmp.bool: d = r BOOL c, with q = !r BOOL c for a pair destination.
                    bool boolOp = ins.BoolAnd || ins.BoolOr || ins.BoolXor;
                    bool cv = boolOp && (Get(w, ops[3], l) & 1) != 0;
                    bool Combine(bool x) => !boolOp ? x : ins.BoolAnd ? x && cv : ins.BoolOr ? x || cv : x ^ cv;
                    if (ins.Op == OpCode.Set)
                    {
                        bool v = Combine(r);
                        Set(w, ops[0], l, ins.Type == PtxType.F32 ? (v ? 0x3F80_0000UL : 0UL) : (v ? Mask(ins.Type.Size() * 8) : 0UL));
                    }
                    else if (ops[0].Kind == OperandKind.Vector)
                    {
                        Set(w, ops[0].Elems[0], l, Combine(r) ? 1UL : 0UL);
                        Set(w, ops[0].Elems[1], l, Combine(!r) ? 1UL : 0UL);
                    }
                    else
                    {
                        Set(w, ops[0], l, Combine(r) ? 1UL : 0UL);
                    }
                    break;
                }
            }
        }
    }

    private static bool Cmp(Instr ins, PtxType t, ulong a, ulong b)
    {
        string c = ins.Cmp;
        if (t is PtxType.F32 or PtxType.F64 or PtxType.F16 or PtxType.BF16)
        {
            double x, y;
            if (t == PtxType.F32)
            {
                float fx = BitConverter.UInt32BitsToSingle((uint)a), fy = BitConverter.UInt32BitsToSingle((uint)b);
                if (ins.Ftz)
                {
                    fx = Fp32.Ftz(fx);
                    fy = Fp32.Ftz(fy);
                }
                (x, y) = (fx, fy);
            }
            else if (t == PtxType.F64)
            {
                (x, y) = (BitConverter.UInt64BitsToDouble(a), BitConverter.UInt64BitsToDouble(b));
            }
            else
            {
                (x, y) = (HalfToDouble((ushort)a, t), HalfToDouble((ushort)b, t));
            }
            bool nan = double.IsNaN(x) || double.IsNaN(y);
            return c switch
            {
                "eq" => !nan && x == y,
                "ne" => !nan && x != y,
                "lt" => !nan && x < y,
                "le" => !nan && x <= y,
                "gt" => !nan && x > y,
                "ge" => !nan && x >= y,
                "equ" => nan || x == y,
                "neu" => nan || x != y,
                "ltu" => nan || x < y,
                "leu" => nan || x <= y,
                "gtu" => nan || x > y,
                "geu" => nan || x >= y,
                "num" => !nan,
                "nan" => nan,
                _ => throw new NotSupportedException($"comparison .{c} on {t}"),
            };
        }
        if (t.IsSigned())
        {
            long x = (long)t.Extend(a), y = (long)t.Extend(b);
            return c switch
            {
                "eq" => x == y, "ne" => x != y, "lt" => x < y, "le" => x <= y, "gt" => x > y, "ge" => x >= y,
                _ => throw new NotSupportedException($"comparison .{c} on {t}"),
            };
        }
        ulong ux = t.Extend(a), uy = t.Extend(b);
        return c switch
        {
            "eq" => ux == uy, "ne" => ux != uy,
            "lt" or "lo" => ux < uy, "le" or "ls" => ux <= uy, "gt" or "hi" => ux > uy, "ge" or "hs" => ux >= uy,
            _ => throw new NotSupportedException($"comparison .{c} on {t}"),
        };
    }

    private static double HalfToDouble(ushort bits, PtxType t) =>
        t == PtxType.BF16 ? BitConverter.UInt32BitsToSingle((uint)bits << 16) : (double)BitConverter.UInt16BitsToHalf(bits);
}
