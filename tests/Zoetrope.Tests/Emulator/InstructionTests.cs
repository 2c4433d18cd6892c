using System.Globalization;
using System.Numerics;
using System.Text;
using NUnit.Framework;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// Every instruction form the project's PTX uses (nvcc 12.4 and ILGPU), run end to end through
/// the interpreter: each lane of a hand-written kernel loads one case's operands from global
/// memory, executes the instruction under test and stores what it wrote. The expected values
/// are computed here from the PTX ISA's definitions (BigInteger for integers, exact rationals
/// for float rounding), never from the emulator's code. This file: the operand harness,
/// integer arithmetic, logic, shifts, bit fields, comparisons, selp and mov.
/// </summary>
[TestFixture]
public sealed partial class InstructionTests
{
    /// <summary>A register type of the operand harness: how the operand is declared, loaded from its 8-byte slot and stored.</summary>
    private sealed record Ty(string Name, int Bits)
    {
        public ulong Mask => Bits >= 64 ? ulong.MaxValue : (1UL << Bits) - 1;

        public string Mem => Bits switch { 1 => "u32", 16 => "u16", 32 => "u32", _ => "u64" };
    }

    private static readonly Ty B16 = new("b16", 16);
    private static readonly Ty B32 = new("b32", 32);
    private static readonly Ty B64 = new("b64", 64);
    private static readonly Ty F32 = new("f32", 32);
    private static readonly Ty F64 = new("f64", 64);
    private static readonly Ty Pred = new("pred", 1);

    private static readonly string[] SrcRegs = ["%A", "%B", "%C", "%E"];
    private static readonly string[] DstRegs = ["%D", "%Q"];

    /// <summary>
    /// Runs <paramref name="instr"/> (written with sources %A %B %C %E and destinations %D %Q)
    /// once per case on one CTA: lane i reads case i's operands and stores what the instruction
    /// wrote. A predicate travels as a u32 (0 or 1). Destination slots start as a sentinel, so a
    /// lane that writes nothing shows.
    /// </summary>
    private static ulong[][] Run(string instr, Ty[] dsts, Ty[] srcs, IReadOnlyList<ulong[]> cases)
    {
        Assert.That(cases, Has.Count.InRange(1, 1024), "one CTA runs every case");
        var ptx = new StringBuilder();
        ptx.Append(".visible .entry k(.param .u64 i0, .param .u64 i1, .param .u64 i2, .param .u64 i3, .param .u64 o0, .param .u64 o1, .param .u32 n)\n{\n");
        ptx.Append("    .reg .pred %skip;\n    .reg .b32 %idx, %cnt, %flag;\n    .reg .b64 %off, %ptr;\n");
        for (int i = 0; i < srcs.Length; i++)
        {
            ptx.Append(CultureInfo.InvariantCulture, $"    .reg .{srcs[i].Name} {SrcRegs[i]};\n");
        }
        for (int j = 0; j < dsts.Length; j++)
        {
            ptx.Append(CultureInfo.InvariantCulture, $"    .reg .{dsts[j].Name} {DstRegs[j]};\n");
        }
        ptx.Append("    mov.u32 %idx, %tid.x;\n    ld.param.u32 %cnt, [n];\n    setp.ge.u32 %skip, %idx, %cnt;\n    @%skip bra $END;\n");
        ptx.Append("    mul.wide.u32 %off, %idx, 8;\n");
        for (int i = 0; i < srcs.Length; i++)
        {
            ptx.Append(CultureInfo.InvariantCulture, $"    ld.param.u64 %ptr, [i{i}];\n    cvta.to.global.u64 %ptr, %ptr;\n    add.s64 %ptr, %ptr, %off;\n");
            if (srcs[i] == Pred)
            {
                ptx.Append(CultureInfo.InvariantCulture, $"    ld.global.u32 %flag, [%ptr];\n    setp.ne.u32 {SrcRegs[i]}, %flag, 0;\n");
            }
            else
            {
                ptx.Append(CultureInfo.InvariantCulture, $"    ld.global.{srcs[i].Mem} {SrcRegs[i]}, [%ptr];\n");
            }
        }
        ptx.Append("    ").Append(instr).Append(";\n");
        for (int j = 0; j < dsts.Length; j++)
        {
            ptx.Append(CultureInfo.InvariantCulture, $"    ld.param.u64 %ptr, [o{j}];\n    add.s64 %ptr, %ptr, %off;\n");
            if (dsts[j] == Pred)
            {
                ptx.Append(CultureInfo.InvariantCulture, $"    selp.u32 %flag, 1, 0, {DstRegs[j]};\n    st.global.u32 [%ptr], %flag;\n");
            }
            else
            {
                ptx.Append(CultureInfo.InvariantCulture, $"    st.global.{dsts[j].Mem} [%ptr], {DstRegs[j]};\n");
            }
        }
        ptx.Append("$END:\n    ret;\n}\n");

        using var h = new EmuHarness();
        var f = h.Load(ptx.ToString(), "k");
        int n = cases.Count;
        var inputs = new ulong[4];
        for (int i = 0; i < 4; i++)
        {
            var column = new ulong[n];
            for (int c = 0; c < n; c++)
            {
                column[c] = i < srcs.Length ? cases[c][i] & srcs[i].Mask : 0;
            }
            inputs[i] = h.Upload(column);
        }
        var sentinel = Enumerable.Repeat(0xCDCD_CDCD_CDCD_CDCDUL, n).ToArray();
        ulong o0 = h.Upload(sentinel), o1 = h.Upload(sentinel);
        h.Launch(f, 1, (uint)n, inputs[0], inputs[1], inputs[2], inputs[3], o0, o1, (uint)n);
        return [h.Download<ulong>(o0, n), h.Download<ulong>(o1, n)];
    }

    /// <summary>
    /// Runs <paramref name="instr"/> over <paramref name="cases"/> and compares each lane's
    /// destination(s) with <paramref name="reference"/>; a null expectation marks a case whose
    /// result the ISA leaves undefined (it still runs: it must not fault). A NaN expectation
    /// accepts any NaN when <paramref name="anyNaN"/> (the ISA fixes no payload there).
    /// </summary>
    private static void Check(string instr, Ty[] dsts, Ty[] srcs, IReadOnlyList<ulong[]> cases, Func<ulong[], ulong[]?> reference, bool anyNaN = false)
    {
        var got = Run(instr, dsts, srcs, cases);
        var failures = new List<string>();
        int compared = 0;
        for (int i = 0; i < cases.Count; i++)
        {
            if (reference(cases[i]) is not { } want)
            {
                continue;
            }
            for (int j = 0; j < dsts.Length; j++)
            {
                compared++;
                ulong have = got[j][i] & dsts[j].Mask;
                ulong expect = want[j] & dsts[j].Mask;
                if (have == expect || anyNaN && IsNaN(dsts[j], expect) && IsNaN(dsts[j], have))
                {
                    continue;
                }
                failures.Add($"{instr} [{string.Join(", ", cases[i].Take(srcs.Length).Select((v, k) => Show(srcs[k], v)))}] -> {DstRegs[j]} = {Show(dsts[j], have)}, expected {Show(dsts[j], expect)}");
            }
        }
        Assert.That(compared, Is.GreaterThan(0), "no case has a defined result");
        Assert.That(failures, Is.Empty, $"{failures.Count} of {compared} results differ:\n" + string.Join("\n", failures.Take(24)));
    }

    private static void Check(string instr, Ty dst, Ty[] srcs, IReadOnlyList<ulong[]> cases, Func<ulong[], ulong?> reference, bool anyNaN = false) =>
        Check(instr, [dst], srcs, cases, c => reference(c) is { } v ? [v] : null, anyNaN);

    private static void Check(string instr, Ty dst, Ty[] srcs, IReadOnlyList<ulong[]> cases, Func<ulong[], ulong> reference, bool anyNaN = false) =>
        Check(instr, [dst], srcs, cases, c => [reference(c)], anyNaN);

    private static bool IsNaN(Ty t, ulong bits) =>
        t == F32 ? float.IsNaN(BitConverter.UInt32BitsToSingle((uint)bits)) : t == F64 && double.IsNaN(BitConverter.UInt64BitsToDouble(bits));

    private static string Show(Ty t, ulong v)
    {
        if (t == F32)
        {
            float f = BitConverter.UInt32BitsToSingle((uint)v);
            return $"{f.ToString("R", CultureInfo.InvariantCulture)} (0x{(uint)v:X8})";
        }
        if (t == F64)
        {
            return $"{BitConverter.UInt64BitsToDouble(v).ToString("R", CultureInfo.InvariantCulture)} (0x{v:X16})";
        }
        return $"0x{v & t.Mask:X}";
    }

    // ---- integer values and the ISA's integer model ----

    /// <summary>An integer instruction type: its width, whether it is signed, and the register type that holds it.</summary>
    private sealed record IntType(string Name, int Bits, bool Signed)
    {
        public Ty Reg => Bits switch { 16 => B16, 32 => B32, _ => B64 };

        public Ty WideReg => Bits == 16 ? B32 : B64;

        public ulong Mask => Bits >= 64 ? ulong.MaxValue : (1UL << Bits) - 1;

        public BigInteger Value(ulong bits) => Interpret(bits, Bits, Signed);

        public BigInteger Min => Signed ? -(BigInteger.One << (Bits - 1)) : BigInteger.Zero;

        public BigInteger Max => Signed ? (BigInteger.One << (Bits - 1)) - 1 : (BigInteger.One << Bits) - 1;

        public override string ToString() => Name;
    }

    private static readonly Dictionary<string, IntType> IntTypes = new[]
    {
        new IntType("s16", 16, true), new IntType("u16", 16, false),
        new IntType("s32", 32, true), new IntType("u32", 32, false),
        new IntType("s64", 64, true), new IntType("u64", 64, false),
    }.ToDictionary(t => t.Name);

    /// <summary>The value of the low <paramref name="bits"/> bits as the type reads them (two's complement when signed).</summary>
    private static BigInteger Interpret(ulong v, int bits, bool signed)
    {
        v &= bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
        return signed && ((v >> (bits - 1)) & 1) != 0 ? (BigInteger)v - (BigInteger.One << bits) : v;
    }

    /// <summary>An integer reduced modulo 2^bits: what a <paramref name="bits"/>-bit register holds.</summary>
    private static ulong Wrap(BigInteger v, int bits)
    {
        var m = BigInteger.One << bits;
        return (ulong)(((v % m) + m) % m);
    }

    /// <summary>Edge values of a width: zero, small, the signed and unsigned extremes and their neighbours, bit patterns.</summary>
    private static ulong[] Edges(int bits)
    {
        ulong m = bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
        ulong min = 1UL << (bits - 1);
        ulong half = 1UL << (bits / 2);
        return new ulong[]
        {
            0, 1, 2, 3, 7, 100, min - 1, min - 2, min, min + 1, m, m - 1, m - 6, m - 99,
            0x5555_5555_5555_5555UL & m, 0xAAAA_AAAA_AAAA_AAAAUL & m, half, half + 1, 0x1234_5678_9ABC_DEF1UL & m,
        }.Distinct().ToArray();
    }

    private static ulong RandomBits(Random r, int bits)
    {
        ulong v = ((ulong)(uint)r.Next() << 33) ^ ((ulong)(uint)r.Next() << 11) ^ (uint)r.Next();
        return bits >= 64 ? v : v & ((1UL << bits) - 1);
    }

    /// <summary>Every pair of <paramref name="values"/> plus <paramref name="random"/> random pairs.</summary>
    private static List<ulong[]> Pairs(ulong[] values, int bits, int random, int seed)
    {
        var cases = new List<ulong[]>();
        foreach (var a in values)
        {
            foreach (var b in values)
            {
                cases.Add([a, b]);
            }
        }
        var r = new Random(seed);
        for (int i = 0; i < random; i++)
        {
            cases.Add([RandomBits(r, bits), RandomBits(r, bits)]);
        }
        return cases;
    }

    // ---- integer arithmetic ----

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    public void AddSubWrapAround(string type)
    {
        var t = IntTypes[type];
        var cases = Pairs(Edges(t.Bits), t.Bits, 40, 1);
        Check($"add.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap(t.Value(c[0]) + t.Value(c[1]), t.Bits));
        Check($"sub.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap(t.Value(c[0]) - t.Value(c[1]), t.Bits));
    }

    [Test]
    public void AddSubSaturateS32()
    {
        var t = IntTypes["s32"];
        var cases = Pairs(Edges(32), 32, 40, 2);
        BigInteger Clamp(BigInteger v) => BigInteger.Min(BigInteger.Max(v, t.Min), t.Max);
        Check("add.sat.s32 %D, %A, %B", B32, [B32, B32], cases, c => Wrap(Clamp(t.Value(c[0]) + t.Value(c[1])), 32));
        Check("sub.sat.s32 %D, %A, %B", B32, [B32, B32], cases, c => Wrap(Clamp(t.Value(c[0]) - t.Value(c[1])), 32));
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    public void MulLoAndHi(string type)
    {
        var t = IntTypes[type];
        var cases = Pairs(Edges(t.Bits), t.Bits, 40, 3);
        // The full 2n-bit product; .lo keeps its low half, .hi its high half (an arithmetic shift for signed types).
        Check($"mul.lo.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap(t.Value(c[0]) * t.Value(c[1]), t.Bits));
        Check($"mul.hi.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap((t.Value(c[0]) * t.Value(c[1])) >> t.Bits, t.Bits));
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    public void MulWideKeepsTheWholeProduct(string type)
    {
        var t = IntTypes[type];
        var cases = Pairs(Edges(t.Bits), t.Bits, 40, 4);
        Check($"mul.wide.{t} %D, %A, %B", t.WideReg, [t.Reg, t.Reg], cases, c => Wrap(t.Value(c[0]) * t.Value(c[1]), 2 * t.Bits));
    }

    /// <summary>Triples for mad: pairs of a short edge list times a few addends.</summary>
    private static List<ulong[]> MadCases(int bits, int addBits, int seed)
    {
        var ab = Edges(bits).Where((_, i) => i % 2 == 0).ToArray();
        ulong am = addBits >= 64 ? ulong.MaxValue : (1UL << addBits) - 1;
        ulong[] adds = [0, 1, am, 1UL << (addBits - 1), 0x0F0F_0F0F_0F0F_0F0FUL & am];
        var cases = new List<ulong[]>();
        foreach (var a in ab)
        {
            foreach (var b in ab)
            {
                foreach (var c in adds)
                {
                    cases.Add([a, b, c]);
                }
            }
        }
        var r = new Random(seed);
        for (int i = 0; i < 60; i++)
        {
            cases.Add([RandomBits(r, bits), RandomBits(r, bits), RandomBits(r, addBits)]);
        }
        return cases;
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    public void MadLoAndHi(string type)
    {
        var t = IntTypes[type];
        var cases = MadCases(t.Bits, t.Bits, 5);
        Check($"mad.lo.{t} %D, %A, %B, %C", t.Reg, [t.Reg, t.Reg, t.Reg], cases, c => Wrap((t.Value(c[0]) * t.Value(c[1])) + t.Value(c[2]), t.Bits));
        Check($"mad.hi.{t} %D, %A, %B, %C", t.Reg, [t.Reg, t.Reg, t.Reg], cases,
            c => Wrap(((t.Value(c[0]) * t.Value(c[1])) >> t.Bits) + t.Value(c[2]), t.Bits));
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    public void MadWideAddsToTheWholeProduct(string type)
    {
        var t = IntTypes[type];
        var cases = MadCases(t.Bits, 2 * t.Bits, 6);
        Check($"mad.wide.{t} %D, %A, %B, %C", t.WideReg, [t.Reg, t.Reg, t.WideReg], cases,
            c => Wrap((t.Value(c[0]) * t.Value(c[1])) + Interpret(c[2], 2 * t.Bits, t.Signed), 2 * t.Bits));
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    public void DivRemTruncateTowardZero(string type)
    {
        var t = IntTypes[type];
        var cases = Pairs(Edges(t.Bits), t.Bits, 60, 7);
        // Division by zero and the overflowing MIN / -1 are undefined in PTX: they run (no fault) but are not compared.
        bool Undefined(ulong[] c) => t.Value(c[1]).IsZero || t.Signed && t.Value(c[0]) == t.Min && t.Value(c[1]) == -1;
        Check($"div.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Undefined(c) ? null : Wrap(BigInteger.Divide(t.Value(c[0]), t.Value(c[1])), t.Bits));
        Check($"rem.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Undefined(c) ? null : Wrap(BigInteger.Remainder(t.Value(c[0]), t.Value(c[1])), t.Bits));
    }

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    public void MinMaxCompareAsTheTypeSays(string type)
    {
        var t = IntTypes[type];
        var cases = Pairs(Edges(t.Bits), t.Bits, 40, 8);
        Check($"min.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap(BigInteger.Min(t.Value(c[0]), t.Value(c[1])), t.Bits));
        Check($"max.{t} %D, %A, %B", t.Reg, [t.Reg, t.Reg], cases, c => Wrap(BigInteger.Max(t.Value(c[0]), t.Value(c[1])), t.Bits));
    }

    [TestCase("s16")]
    [TestCase("s32")]
    [TestCase("s64")]
    public void AbsAndNegOfEveryEdgeIncludingMin(string type)
    {
        var t = IntTypes[type];
        var cases = Edges(t.Bits).Select(v => new[] { v }).ToList();
        // |MIN| and -MIN do not fit: modulo 2^n they are MIN again.
        Check($"abs.{t} %D, %A", t.Reg, [t.Reg], cases, c => Wrap(BigInteger.Abs(t.Value(c[0])), t.Bits));
        Check($"neg.{t} %D, %A", t.Reg, [t.Reg], cases, c => Wrap(-t.Value(c[0]), t.Bits));
    }

    // ---- logic, shifts, bit fields ----

    [TestCase(16)]
    [TestCase(32)]
    [TestCase(64)]
    public void BitwiseLogic(int bits)
    {
        var r = bits == 16 ? B16 : bits == 32 ? B32 : B64;
        var cases = Pairs(Edges(bits), bits, 20, 9);
        Check($"and.b{bits} %D, %A, %B", r, [r, r], cases, c => c[0] & c[1]);
        Check($"or.b{bits} %D, %A, %B", r, [r, r], cases, c => c[0] | c[1]);
        Check($"xor.b{bits} %D, %A, %B", r, [r, r], cases, c => c[0] ^ c[1]);
        Check($"not.b{bits} %D, %A", r, [r], cases, c => ~c[0]);
        Check($"cnot.b{bits} %D, %A", r, [r], cases, c => (c[0] & r.Mask) == 0 ? 1UL : 0UL);
    }

    [Test]
    public void PredicateLogic()
    {
        var cases = new List<ulong[]> { new ulong[] { 0, 0 }, new ulong[] { 0, 1 }, new ulong[] { 1, 0 }, new ulong[] { 1, 1 } };
        Check("and.pred %D, %A, %B", Pred, [Pred, Pred], cases, c => c[0] & c[1]);
        Check("or.pred %D, %A, %B", Pred, [Pred, Pred], cases, c => c[0] | c[1]);
        Check("xor.pred %D, %A, %B", Pred, [Pred, Pred], cases, c => c[0] ^ c[1]);
        Check("not.pred %D, %A", Pred, [Pred], cases, c => c[0] ^ 1);
        Check("mov.pred %D, %A", Pred, [Pred], cases, c => c[0]);
        Check("and.pred %D, %A, !%B", Pred, [Pred, Pred], cases, c => c[0] & (c[1] ^ 1));
    }

    private static readonly ulong[] ShiftAmounts = [0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF];

    [TestCase("shl.b16")]
    [TestCase("shl.b32")]
    [TestCase("shl.b64")]
    [TestCase("shr.b16")]
    [TestCase("shr.b32")]
    [TestCase("shr.b64")]
    [TestCase("shr.u16")]
    [TestCase("shr.u32")]
    [TestCase("shr.u64")]
    [TestCase("shr.s16")]
    [TestCase("shr.s32")]
    [TestCase("shr.s64")]
    public void ShiftsClampAmountsAtTheWidth(string op)
    {
        int bits = int.Parse(op[^2..], CultureInfo.InvariantCulture);
        var r = bits == 16 ? B16 : bits == 32 ? B32 : B64;
        bool left = op.StartsWith("shl", StringComparison.Ordinal);
        bool arith = op.Contains(".s", StringComparison.Ordinal);
        var cases = new List<ulong[]>();
        foreach (var a in Edges(bits))
        {
            foreach (var s in ShiftAmounts)
            {
                cases.Add([a, s]);
            }
        }
        // The amount is a .u32 whatever the type; amounts beyond the width clamp to the width.
        ulong Reference(ulong[] c)
        {
            ulong a = c[0] & r.Mask;
            int s = (int)Math.Min(c[1], (ulong)bits);
            if (left)
            {
                return s >= bits ? 0 : a << s;
            }
            if (arith)
            {
                return Wrap(Interpret(a, bits, true) >> s, bits);
            }
            return s >= bits ? 0 : a >> s;
        }
        Check($"{op} %D, %A, %B", r, [r, B32], cases, Reference);
    }

    [Test]
    public void ShiftByImmediates()
    {
        var cases = Edges(32).Select(v => new[] { v }).ToList();
        Check("shl.b32 %D, %A, 33", B32, [B32], cases, _ => 0);
        Check("shl.b32 %D, %A, 5", B32, [B32], cases, c => c[0] << 5);
        Check("shr.s32 %D, %A, 40", B32, [B32], cases, c => (c[0] & 0x8000_0000) != 0 ? 0xFFFF_FFFF : 0);
        Check("shr.u32 %D, %A, 31", B32, [B32], cases, c => (c[0] & 0xFFFF_FFFF) >> 31);
        var wide = Edges(64).Select(v => new[] { v }).ToList();
        Check("shl.b64 %D, %A, 70", B64, [B64], wide, _ => 0);
        Check("shr.s64 %D, %A, 63", B64, [B64], wide, c => (c[0] >> 63) != 0 ? ulong.MaxValue : 0);
    }

    [TestCase(32)]
    [TestCase(64)]
    public void PopcClzBrev(int bits)
    {
        var r = bits == 32 ? B32 : B64;
        var rnd = new Random(10);
        var cases = Edges(bits).Concat(Enumerable.Range(0, bits).Select(i => 1UL << i)).Concat(Enumerable.Range(0, 40).Select(_ => RandomBits(rnd, bits)))
            .Select(v => new[] { v }).ToList();
        int Popc(ulong v) => Enumerable.Range(0, bits).Count(i => ((v >> i) & 1) != 0);
        int Clz(ulong v)
        {
            int n = 0;
            for (int i = bits - 1; i >= 0 && ((v >> i) & 1) == 0; i--)
            {
                n++;
            }
            return n;
        }
        ulong Brev(ulong v)
        {
            ulong d = 0;
            for (int i = 0; i < bits; i++)
            {
                d |= ((v >> i) & 1) << (bits - 1 - i);
            }
            return d;
        }
        // popc and clz write a .u32 whatever the source width.
        Check($"popc.b{bits} %D, %A", B32, [r], cases, c => (ulong)Popc(c[0]));
        Check($"clz.b{bits} %D, %A", B32, [r], cases, c => (ulong)Clz(c[0]));
        Check($"brev.b{bits} %D, %A", r, [r], cases, c => Brev(c[0]));
    }

    private static readonly ulong[] FieldPositions = [0, 1, 4, 15, 30, 31, 32, 33, 60, 63, 64, 200, 255, 256 + 3];
    private static readonly ulong[] FieldLengths = [0, 1, 3, 8, 16, 31, 32, 33, 64, 100, 255, 256 + 2];

    [TestCase("u32")]
    [TestCase("s32")]
    [TestCase("u64")]
    [TestCase("s64")]
    public void BfeExtractsAndSignExtendsAsTheIsaPseudocode(string type)
    {
        var t = IntTypes[type];
        ulong[] values = [0xF0F0_8421_8765_4321UL & t.Mask, t.Mask, 0x8000_0000_8000_0000UL & t.Mask, 0x7FFF_FFFF_7FFF_FFFFUL & t.Mask];
        var cases = new List<ulong[]>();
        foreach (var a in values)
        {
            foreach (var pos in FieldPositions)
            {
                foreach (var len in FieldLengths.Where((_, i) => (i + (int)pos) % 2 == 0 || a == values[0]))
                {
                    cases.Add([a, pos, len]);
                }
            }
        }
        // PTX ISA bfe: pos = b & 0xff, len = c & 0xff; sbit = unsigned or len == 0 ? 0 : a[min(pos+len-1, msb)];
        // d[i] = i < len && pos + i <= msb ? a[pos + i] : sbit.
        ulong Reference(ulong[] c)
        {
            int msb = t.Bits - 1;
            int pos = (int)(c[1] & 0xFF), len = (int)(c[2] & 0xFF);
            ulong a = c[0];
            ulong sbit = !t.Signed || len == 0 ? 0 : (a >> Math.Min(pos + len - 1, msb)) & 1;
            ulong d = 0;
            for (int i = 0; i <= msb; i++)
            {
                ulong bit = i < len && pos + i <= msb ? (a >> (pos + i)) & 1 : sbit;
                d |= bit << i;
            }
            return d;
        }
        Check($"bfe.{t} %D, %A, %B, %C", t.Reg, [t.Reg, B32, B32], cases, Reference);
    }

    [TestCase(32)]
    [TestCase(64)]
    public void BfiInsertsAsTheIsaPseudocode(int bits)
    {
        var r = bits == 32 ? B32 : B64;
        ulong m = r.Mask;
        var cases = new List<ulong[]>();
        foreach (var pos in FieldPositions)
        {
            foreach (var len in FieldLengths)
            {
                cases.Add([0x1234_5678_9ABC_DEF1UL & m, 0xFFFF_0000_FFFF_0000UL & m, pos, len]);
            }
        }
        // PTX ISA bfi f, a, b, c, d: pos = c & 0xff, len = d & 0xff; f = b; f[pos + i] = a[i] for i < len, pos + i <= msb.
        ulong Reference(ulong[] c)
        {
            int pos = (int)(c[2] & 0xFF), len = (int)(c[3] & 0xFF);
            ulong f = c[1];
            for (int i = 0; i < len && pos + i < bits; i++)
            {
                f = (f & ~(1UL << (pos + i))) | (((c[0] >> i) & 1) << (pos + i));
            }
            return f;
        }
        Check($"bfi.b{bits} %D, %A, %B, %C, %E", r, [r, r, B32, B32], cases, Reference);
    }

    /// <summary>The PTX ISA's prmt mode table: for selector c[1:0], the source byte of d.b0..d.b3 (the table lists d.b3 first).</summary>
    private static readonly Dictionary<string, int[][]> PrmtModes = new()
    {
        ["f4e"] = [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]],
        ["b4e"] = [[0, 7, 6, 5], [1, 0, 7, 6], [2, 1, 0, 7], [3, 2, 1, 0]],
        ["rc8"] = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], [3, 3, 3, 3]],
        ["ecl"] = [[0, 1, 2, 3], [1, 1, 2, 3], [2, 2, 2, 3], [3, 3, 3, 3]],
        ["ecr"] = [[0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 2, 2], [0, 1, 2, 3]],
        ["rc16"] = [[0, 1, 0, 1], [2, 3, 2, 3], [0, 1, 0, 1], [2, 3, 2, 3]],
    };

    [Test]
    public void PrmtDefaultModeSelectsAndReplicatesSigns()
    {
        var rnd = new Random(11);
        ulong[] selectors = [0x3210, 0x0123, 0x7654, 0x4444, 0x8888, 0xBA98, 0xF7E6, 0x5140, 0xFFFF_3210, 0x1_0000_7531];
        var cases = new List<ulong[]>();
        foreach (var sel in selectors.Concat(Enumerable.Range(0, 30).Select(_ => (ulong)(uint)rnd.Next())))
        {
            cases.Add([0x80FF_7F01, 0x4281_C300, sel]);
            cases.Add([RandomBits(rnd, 32), RandomBits(rnd, 32), sel]);
        }
        ulong Reference(ulong[] c)
        {
            ulong pool = ((c[1] & 0xFFFF_FFFF) << 32) | (c[0] & 0xFFFF_FFFF);
            ulong d = 0;
            for (int i = 0; i < 4; i++)
            {
                ulong ctl = (c[2] >> (4 * i)) & 0xF;
                ulong b = (pool >> (8 * (int)(ctl & 7))) & 0xFF;
                if ((ctl & 8) != 0)
                {
                    b = (b & 0x80) != 0 ? 0xFFUL : 0;
                }
                d |= b << (8 * i);
            }
            return d;
        }
        Check("prmt.b32 %D, %A, %B, %C", B32, [B32, B32, B32], cases, Reference);
        Check("prmt.b32 %D, %A, %B, 0x1032", B32, [B32, B32], cases, c => Reference([c[0], c[1], 0x1032]));
    }

    [TestCase("f4e")]
    [TestCase("b4e")]
    [TestCase("rc8")]
    [TestCase("ecl")]
    [TestCase("ecr")]
    [TestCase("rc16")]
    public void PrmtModesFollowTheIsaTable(string mode)
    {
        var cases = new List<ulong[]>();
        for (ulong sel = 0; sel < 8; sel++)
        {
            cases.Add([0x8382_8180, 0x8786_8584, sel | 0xFFF0]);
        }
        // Only c[1:0] selects; there is no sign replication outside the default mode.
        ulong Reference(ulong[] c)
        {
            ulong pool = (c[1] << 32) | c[0];
            var row = PrmtModes[mode][(int)(c[2] & 3)];
            ulong d = 0;
            for (int i = 0; i < 4; i++)
            {
                d |= ((pool >> (8 * row[i])) & 0xFF) << (8 * i);
            }
            return d;
        }
        Check($"prmt.b32.{mode} %D, %A, %B, %C", B32, [B32, B32, B32], cases, Reference);
    }

    [Test]
    public void LiteralsInEveryNotation()
    {
        var c32 = Edges(32).Select(v => new[] { v }).ToList();
        Check("and.b32 %D, %A, 0b1010", B32, [B32], c32, c => c[0] & 10);
        Check("add.s32 %D, %A, 017", B32, [B32], c32, c => (c[0] + 15) & 0xFFFF_FFFF);
        Check("add.u32 %D, %A, 5U", B32, [B32], c32, c => (c[0] + 5) & 0xFFFF_FFFF);
        var f64 = new[] { 1.0, -3.25, 0.0 }.Select(d => new[] { BitConverter.DoubleToUInt64Bits(d) }).ToList();
        static double D(ulong v) => BitConverter.UInt64BitsToDouble(v);
        // Constants are converted to the instruction's type at their use (PTX ISA 4.5): an integer or a 0f single in an f64 instruction is that number.
        Check("add.f64 %D, %A, 2", F64, [F64], f64, c => BitConverter.DoubleToUInt64Bits(D(c[0]) + 2));
        Check("add.f64 %D, %A, 0f3F800000", F64, [F64], f64, c => BitConverter.DoubleToUInt64Bits(D(c[0]) + 1));
        Check("mul.f64 %D, %A, -0.5", F64, [F64], f64, c => BitConverter.DoubleToUInt64Bits(D(c[0]) * -0.5));
        Check("add.f32 %D, %A, 1.5", F32, [F32], [[0x3F80_0000]], _ => 0x4020_0000);
        Check("add.f32 %D, %A, 2", F32, [F32], [[0x3F80_0000]], _ => 0x4040_0000);
        // A constant predicate is true when nonzero, as in C.
        var preds = new List<ulong[]> { new ulong[] { 0 }, new ulong[] { 1 } };
        Check("mov.pred %D, 2", Pred, [Pred], preds, _ => 1);
        Check("and.pred %D, %A, 2", Pred, [Pred], preds, c => c[0]);
        var e = Assert.Throws<Zoetrope.Emulator.EmulatorException>(() => Run("add.s32 %D, %A, 09", [B32], [B32], c32))!;
        Assert.That(e.Error, Is.EqualTo(Zoetrope.Emulator.EmuError.InvalidPtx), "09 is not an octal number");
    }

    [TestCase("setp.lo.s32 %D, %A, %B")]
    [TestCase("prmt.b32.xyz %D, %A, %B, %C")]
    public void AComparisonOrModeTheTypeLacksStopsTheLaunchNamingIt(string instr)
    {
        // Signed types have no .lo; prmt has no .xyz mode: a launch fault naming the instruction, not an internal exception.
        var e = Assert.Throws<Zoetrope.Emulator.EmulatorException>(() => Run(instr, [instr.StartsWith("setp", StringComparison.Ordinal) ? Pred : B32], [B32, B32, B32], [[1, 2, 3]]))!;
        Assert.That(e.Error, Is.EqualTo(Zoetrope.Emulator.EmuError.NotSupported));
        Assert.That(e.Message, Does.Contain(instr.Split(' ')[0]).And.Contain("kernel k"));
    }

    // ---- comparisons and selection ----

    private static readonly string[] SignedCmps = ["eq", "ne", "lt", "le", "gt", "ge"];
    private static readonly string[] UnsignedCmps = ["eq", "ne", "lt", "le", "gt", "ge", "lo", "ls", "hi", "hs"];

    private static bool IntCompare(string cmp, BigInteger x, BigInteger y) => cmp switch
    {
        "eq" => x == y,
        "ne" => x != y,
        "lt" or "lo" => x < y,
        "le" or "ls" => x <= y,
        "gt" or "hi" => x > y,
        "ge" or "hs" => x >= y,
        _ => throw new ArgumentException(cmp),
    };

    [TestCase("s16")]
    [TestCase("u16")]
    [TestCase("s32")]
    [TestCase("u32")]
    [TestCase("s64")]
    [TestCase("u64")]
    [TestCase("b32")]
    [TestCase("b64")]
    public void SetpIntegerComparisons(string type)
    {
        var t = type[0] == 'b' ? new IntType(type, int.Parse(type[1..], CultureInfo.InvariantCulture), false) : IntTypes[type];
        var cases = Pairs(Edges(t.Bits).Where((_, i) => i % 2 == 0 || i < 4).ToArray(), t.Bits, 20, 12);
        // Bit-size types compare for equality only.
        var cmps = type[0] == 'b' ? ["eq", "ne"] : t.Signed ? SignedCmps : UnsignedCmps;
        foreach (var cmp in cmps)
        {
            Check($"setp.{cmp}.{t} %D, %A, %B", Pred, [t.Reg, t.Reg], cases, c => IntCompare(cmp, t.Value(c[0]), t.Value(c[1])) ? 1UL : 0UL);
        }
    }

    [Test]
    public void SetpCombinesWithAPredicateAndWritesThePair()
    {
        var t = IntTypes["s32"];
        var cases = new List<ulong[]>();
        foreach (var (a, b) in new[] { (5UL, 7UL), (7UL, 5UL), (0xFFFF_FFFFUL, 0UL), (3UL, 3UL) })
        {
            cases.Add([a, b, 0]);
            cases.Add([a, b, 1]);
        }
        // p = (a cmp b) BOOL c; q = !(a cmp b) BOOL c.
        foreach (var (op, f) in new (string, Func<bool, bool, bool>)[] { ("and", (x, y) => x && y), ("or", (x, y) => x || y), ("xor", (x, y) => x ^ y) })
        {
            Check($"setp.lt.{op}.s32 %D|%Q, %A, %B, %C", [Pred, Pred], [B32, B32, Pred], cases, c =>
            {
                bool r = t.Value(c[0]) < t.Value(c[1]);
                bool cv = c[2] != 0;
                return [f(r, cv) ? 1UL : 0UL, f(!r, cv) ? 1UL : 0UL];
            });
            Check($"setp.ge.{op}.s32 %D, %A, %B, !%C", Pred, [B32, B32, Pred], cases, c => f(t.Value(c[0]) >= t.Value(c[1]), c[2] == 0) ? 1UL : 0UL);
        }
        Check("setp.ne.u32 %D|%Q, %A, %B", [Pred, Pred], [B32, B32], cases, c => (c[0] != c[1]) ? [1UL, 0UL] : [0UL, 1UL]);
    }

    private static readonly float[] FloatValues =
    [
        float.NegativeInfinity, -float.MaxValue, -1.5f, -1f, -float.Epsilon * 3, -0f, 0f, float.Epsilon, 1e-40f, 1.1754944E-38f,
        1f, 1.5f, 2f, float.MaxValue, float.PositiveInfinity, float.NaN,
        BitConverter.UInt32BitsToSingle(0xFFC0_0000), BitConverter.UInt32BitsToSingle(0x7F80_0001),
    ];

    private static bool FloatCompare(string cmp, double x, double y)
    {
        bool nan = double.IsNaN(x) || double.IsNaN(y);
        // Ordered comparisons are false with a NaN operand; the u forms (unordered) are true.
        return cmp switch
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
            _ => throw new ArgumentException(cmp),
        };
    }

    private static readonly string[] FloatCmps = ["eq", "ne", "lt", "le", "gt", "ge", "equ", "neu", "ltu", "leu", "gtu", "geu", "num", "nan"];

    [Test]
    public void SetpF32EveryComparisonWithNaNAndSignedZeros()
    {
        var cases = new List<ulong[]>();
        foreach (var a in FloatValues)
        {
            foreach (var b in FloatValues)
            {
                cases.Add([BitConverter.SingleToUInt32Bits(a), BitConverter.SingleToUInt32Bits(b)]);
            }
        }
        foreach (var cmp in FloatCmps)
        {
            Check($"setp.{cmp}.f32 %D, %A, %B", Pred, [F32, F32], cases,
                c => FloatCompare(cmp, BitConverter.UInt32BitsToSingle((uint)c[0]), BitConverter.UInt32BitsToSingle((uint)c[1])) ? 1UL : 0UL);
        }
        // .ftz compares flushed subnormals: a subnormal equals zero.
        static float Flush(float f) => float.IsSubnormal(f) ? 0f : f;
        Check("setp.eq.ftz.f32 %D, %A, %B", Pred, [F32, F32], cases,
            c => FloatCompare("eq", Flush(BitConverter.UInt32BitsToSingle((uint)c[0])), Flush(BitConverter.UInt32BitsToSingle((uint)c[1]))) ? 1UL : 0UL);
        Check("setp.lt.f32 %D, %A, 0f3F800000", Pred, [F32], cases, c => BitConverter.UInt32BitsToSingle((uint)c[0]) < 1f ? 1UL : 0UL);
    }

    [Test]
    public void SetpF64EveryComparisonWithNaNAndSignedZeros()
    {
        double[] values = FloatValues.Select(f => (double)f).Concat([double.MaxValue, double.Epsilon, 1 + 1e-15, BitConverter.UInt64BitsToDouble(0xFFF8_0000_0000_0001)]).ToArray();
        var cases = new List<ulong[]>();
        foreach (var a in values)
        {
            foreach (var b in values)
            {
                cases.Add([BitConverter.DoubleToUInt64Bits(a), BitConverter.DoubleToUInt64Bits(b)]);
            }
        }
        foreach (var cmp in FloatCmps)
        {
            Check($"setp.{cmp}.f64 %D, %A, %B", Pred, [F64, F64], cases,
                c => FloatCompare(cmp, BitConverter.UInt64BitsToDouble(c[0]), BitConverter.UInt64BitsToDouble(c[1])) ? 1UL : 0UL);
        }
    }

    [TestCase("b32")]
    [TestCase("u32")]
    [TestCase("f32")]
    [TestCase("u16")]
    [TestCase("b64")]
    public void SelpPicksByPredicate(string type)
    {
        var r = type switch { "u16" => B16, "b64" => B64, "f32" => F32, _ => B32 };
        var cases = new List<ulong[]>();
        foreach (var a in Edges(r.Bits).Take(8))
        {
            cases.Add([a, ~a & r.Mask, 0]);
            cases.Add([a, ~a & r.Mask, 1]);
        }
        Check($"selp.{type} %D, %A, %B, %C", r, [r, r, Pred], cases, c => c[2] != 0 ? c[0] : c[1]);
        Check($"selp.{type} %D, %A, %B, !%C", r, [r, r, Pred], cases, c => c[2] == 0 ? c[0] : c[1]);
    }

    [Test]
    public void SelpWithFloatImmediates()
    {
        var cases = new List<ulong[]> { new[] { 0UL }, new[] { 1UL } };
        Check("selp.f32 %D, 0f3F800000, 0fC0000000, %A", F32, [Pred], cases, c => c[0] != 0 ? 0x3F80_0000UL : 0xC000_0000UL);
        Check("selp.b32 %D, 1, -1, %A", B32, [Pred], cases, c => c[0] != 0 ? 1UL : 0xFFFF_FFFFUL);
    }

    // ---- mov ----

    [Test]
    public void MovUnpacksAndPacksHalvesAndWords()
    {
        var rnd = new Random(13);
        var c32 = Edges(32).Concat(Enumerable.Range(0, 10).Select(_ => RandomBits(rnd, 32))).Select(v => new[] { v }).ToList();
        var c64 = Edges(64).Concat(Enumerable.Range(0, 10).Select(_ => RandomBits(rnd, 64))).Select(v => new[] { v }).ToList();
        // The first element of the vector is the low part.
        Check("mov.b32 {%D, %Q}, %A", [B16, B16], [B32], c32, c => [c[0] & 0xFFFF, (c[0] >> 16) & 0xFFFF]);
        Check("mov.b64 {%D, %Q}, %A", [B32, B32], [B64], c64, c => [c[0] & 0xFFFF_FFFF, c[0] >> 32]);
        Check("mov.b64 {%D, _}, %A", B32, [B64], c64, c => c[0] & 0xFFFF_FFFF);
        var pairs16 = Pairs(Edges(16).Take(8).ToArray(), 16, 8, 14);
        var pairs32 = Pairs(Edges(32).Take(8).ToArray(), 32, 8, 15);
        Check("mov.b32 %D, {%A, %B}", B32, [B16, B16], pairs16, c => (c[0] & 0xFFFF) | ((c[1] & 0xFFFF) << 16));
        Check("mov.b64 %D, {%A, %B}", B64, [B32, B32], pairs32, c => (c[0] & 0xFFFF_FFFF) | (c[1] << 32));
    }

    [Test]
    public void MovCopiesEveryTypeAndImmediate()
    {
        var c16 = Edges(16).Select(v => new[] { v }).ToList();
        var c32 = Edges(32).Select(v => new[] { v }).ToList();
        var c64 = Edges(64).Select(v => new[] { v }).ToList();
        Check("mov.b16 %D, %A", B16, [B16], c16, c => c[0]);
        Check("mov.u16 %D, %A", B16, [B16], c16, c => c[0]);
        Check("mov.b32 %D, %A", B32, [B32], c32, c => c[0]);
        Check("mov.u32 %D, %A", B32, [B32], c32, c => c[0]);
        Check("mov.f32 %D, %A", F32, [F32], c32, c => c[0]);
        Check("mov.b64 %D, %A", B64, [B64], c64, c => c[0]);
        Check("mov.u64 %D, %A", B64, [B64], c64, c => c[0]);
        Check("mov.f64 %D, %A", F64, [F64], c64, c => c[0]);
        var one = new List<ulong[]> { new[] { 0UL } };
        Check("mov.f32 %D, 0fBF800000", F32, [B32], one, _ => 0xBF80_0000);
        Check("mov.f32 %D, 0f7FFFFFFF", F32, [B32], one, _ => 0x7FFF_FFFF);
        Check("mov.f64 %D, 0d3FF8000000000000", F64, [B32], one, _ => 0x3FF8_0000_0000_0000);
        Check("mov.u16 %D, 65535", B16, [B32], one, _ => 0xFFFF);
        Check("mov.u32 %D, -2", B32, [B32], one, _ => 0xFFFF_FFFE);
        Check("mov.u64 %D, 0x8000000000000001", B64, [B32], one, _ => 0x8000_0000_0000_0001);
        Check("mov.b32 %D, 0f3F800000", B32, [B32], one, _ => 0x3F80_0000);
    }

    [Test]
    public void IntegerImmediateOperandsAreReadAsTheInstructionsType()
    {
        var c32 = Edges(32).Select(v => new[] { v }).ToList();
        var s32 = IntTypes["s32"];
        Check("add.s32 %D, %A, -5", B32, [B32], c32, c => Wrap(s32.Value(c[0]) - 5, 32));
        Check("mul.wide.s32 %D, %A, -3", B64, [B32], c32, c => Wrap(s32.Value(c[0]) * -3, 64));
        Check("mul.wide.u32 %D, %A, 4", B64, [B32], c32, c => (c[0] & 0xFFFF_FFFF) * 4);
        Check("and.b32 %D, %A, 0xFF00FF00", B32, [B32], c32, c => c[0] & 0xFF00_FF00);
        Check("setp.lt.s32 %D, %A, -1", Pred, [B32], c32, c => s32.Value(c[0]) < -1 ? 1UL : 0UL);
        Check("setp.hi.u32 %D, %A, 100", Pred, [B32], c32, c => (c[0] & 0xFFFF_FFFF) > 100 ? 1UL : 0UL);
        Check("mad.lo.s32 %D, %A, 3, 1000", B32, [B32], c32, c => Wrap((s32.Value(c[0]) * 3) + 1000, 32));
        var c64 = Edges(64).Select(v => new[] { v }).ToList();
        Check("add.s64 %D, %A, -1", B64, [B64], c64, c => c[0] - 1);
        Check("setp.lt.u64 %D, %A, 0xFFFFFFFFFFFFFFFF", Pred, [B64], c64, c => c[0] < ulong.MaxValue ? 1UL : 0UL);
        Check("div.u64 %D, %A, 10", B64, [B64], c64, c => c[0] / 10);
        Check("rem.s64 %D, %A, -7", B64, [B64], c64, c => Wrap(BigInteger.Remainder(Interpret(c[0], 64, true), -7), 64));
    }
}
