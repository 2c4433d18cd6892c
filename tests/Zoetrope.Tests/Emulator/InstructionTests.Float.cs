using System.Globalization;
using System.Numerics;
using NUnit.Framework;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// f32/f64 arithmetic through the interpreter. The f32 reference computes each result exactly
/// (a finite float is an integer times a power of two, so sums and products are exact
/// BigIntegers, quotients and square roots exact up to a sticky bit) and rounds it once in the
/// instruction's direction, as IEEE 754 (which PTX's .rn/.rz/.rm/.rp follow) defines.
/// </summary>
public sealed partial class InstructionTests
{
    private enum Rnd
    {
        Rn,
        Rz,
        Rm,
        Rp,
    }

    private static Rnd ParseRnd(string mode) => mode switch { "rn" => Rnd.Rn, "rz" => Rnd.Rz, "rm" => Rnd.Rm, "rp" => Rnd.Rp, _ => throw new ArgumentException(mode) };

    /// <summary>A finite float as (signed integer, exponent): the value is Mant * 2^Exp.</summary>
    private static (BigInteger Mant, int Exp) Parts(float f)
    {
        uint bits = BitConverter.SingleToUInt32Bits(f);
        int biased = (int)((bits >> 23) & 0xFF);
        long m = bits & 0x7F_FFFF;
        int e = -149;
        if (biased != 0)
        {
            m |= 0x80_0000;
            e = biased - 150;
        }
        return ((bits >> 31) != 0 ? -m : m, e);
    }

    /// <summary>
    /// Rounds a magnitude (n + t) * 2^exp, 0 &lt;= t &lt; 1 and t &gt; 0 exactly when
    /// <paramref name="sticky"/>, to f32 in <paramref name="mode"/>: subnormals keep the fixed
    /// 2^-149 quantum, and a result past the largest finite value overflows to infinity or to
    /// MaxValue as the direction says.
    /// </summary>
    private static float RoundF32(bool negative, BigInteger n, bool sticky, int exp, Rnd mode)
    {
        if (!sticky && n.GetBitLength() < 64)
        {
            int s = 64 - (int)n.GetBitLength();
            n <<= s;
            exp -= s;
        }
        int top = (int)n.GetBitLength() - 1 + exp;
        int quantum = Math.Max(top - 23, -149);
        int drop = quantum - exp;
        var k = n >> drop;
        var rest = n - (k << drop);
        var half = BigInteger.One << (drop - 1);
        bool inexact = !rest.IsZero || sticky;
        bool up = mode switch
        {
            Rnd.Rn => rest > half || (rest == half && (sticky || !k.IsEven)),
            Rnd.Rz => false,
            Rnd.Rm => negative && inexact,
            _ => !negative && inexact,
        };
        if (up)
        {
            k += 1;
        }
        float magnitude;
        if (!k.IsZero && (int)k.GetBitLength() - 1 + quantum >= 128)
        {
            bool toInfinity = mode == Rnd.Rn || (mode == Rnd.Rm && negative) || (mode == Rnd.Rp && !negative);
            magnitude = toInfinity ? float.PositiveInfinity : float.MaxValue;
        }
        else
        {
            magnitude = (float)Math.ScaleB((double)k, quantum);
        }
        return negative ? -magnitude : magnitude;
    }

    /// <summary>The sign of an exact zero sum x + y: x's when both are zeros of one sign, else -0 toward -inf and +0 otherwise (IEEE 754 6.3).</summary>
    private static float ZeroSum(bool xZero, bool xNeg, bool yZero, bool yNeg, Rnd mode) =>
        xZero && yZero && xNeg == yNeg ? (xNeg ? -0f : 0f) : mode == Rnd.Rm ? -0f : 0f;

    private static float RefAdd(float a, float b, Rnd mode)
    {
        if (!float.IsFinite(a) || !float.IsFinite(b))
        {
            return a + b; // infinities and NaNs: exact by IEEE's special-value rules
        }
        var (ma, ea) = Parts(a);
        var (mb, eb) = Parts(b);
        int e = Math.Min(ea, eb);
        var s = (ma << (ea - e)) + (mb << (eb - e));
        return s.IsZero ? ZeroSum(a == 0, float.IsNegative(a), b == 0, float.IsNegative(b), mode) : RoundF32(s.Sign < 0, BigInteger.Abs(s), false, e, mode);
    }

    private static float RefMul(float a, float b, Rnd mode)
    {
        if (!float.IsFinite(a) || !float.IsFinite(b) || a == 0 || b == 0)
        {
            return a * b;
        }
        var (ma, ea) = Parts(a);
        var (mb, eb) = Parts(b);
        var p = ma * mb;
        return RoundF32(p.Sign < 0, BigInteger.Abs(p), false, ea + eb, mode);
    }

    private static float RefFma(float a, float b, float c, Rnd mode)
    {
        if (!float.IsFinite(a) || !float.IsFinite(b) || !float.IsFinite(c))
        {
            return (float)Math.FusedMultiplyAdd(a, b, (double)c);
        }
        var (ma, ea) = Parts(a);
        var (mb, eb) = Parts(b);
        var (mc, ec) = Parts(c);
        var p = ma * mb;
        int ep = ea + eb;
        int e = Math.Min(ep, ec);
        var s = (p << (ep - e)) + (mc << (ec - e));
        bool productNeg = float.IsNegative(a) != float.IsNegative(b);
        return s.IsZero ? ZeroSum(p.IsZero, productNeg, c == 0, float.IsNegative(c), mode) : RoundF32(s.Sign < 0, BigInteger.Abs(s), false, e, mode);
    }

    private static float RefDiv(float a, float b, Rnd mode)
    {
        if (!float.IsFinite(a) || !float.IsFinite(b) || a == 0 || b == 0)
        {
            return (float)((double)a / b); // 0, infinity or NaN: exact
        }
        var (ma, ea) = Parts(a);
        var (mb, eb) = Parts(b);
        var p = BigInteger.Abs(ma);
        var q = BigInteger.Abs(mb);
        int shift = Math.Max(0, 64 + (int)q.GetBitLength() - (int)p.GetBitLength());
        var n = BigInteger.DivRem(p << shift, q, out var rem);
        return RoundF32(ma.Sign != mb.Sign, n, !rem.IsZero, ea - eb - shift, mode);
    }

    private static float RefSqrt(float a, Rnd mode)
    {
        if (float.IsNaN(a) || a < 0)
        {
            return float.NaN;
        }
        if (a == 0 || float.IsInfinity(a))
        {
            return a; // sqrt(-0) = -0
        }
        var (m, e) = Parts(a);
        if ((e & 1) != 0)
        {
            m <<= 1;
            e--;
        }
        m <<= 128;
        e -= 128;
        var r = ISqrt(m);
        return RoundF32(false, r, r * r != m, e / 2, mode);
    }

    private static BigInteger ISqrt(BigInteger n)
    {
        var x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            var y = (x + (n / x)) >> 1;
            if (y >= x)
            {
                return x;
            }
            x = y;
        }
    }

    private static float FlushF32(float f) => float.IsSubnormal(f) ? (float.IsNegative(f) ? -0f : 0f) : f;

    private static ulong Bits(float f) => BitConverter.SingleToUInt32Bits(f);

    private static float Float(ulong bits) => BitConverter.UInt32BitsToSingle((uint)bits);

    private static float Pow2(int e) => (float)Math.ScaleB(1.0, e);

    private static float RandomFloat(Random r, int minExp, int maxExp)
    {
        int e = r.Next(minExp, maxExp + 1);
        uint mant = (uint)r.Next(0, 1 << 23);
        uint sign = r.Next(2) == 0 ? 0 : 0x8000_0000u;
        uint biased = (uint)Math.Clamp(e + 127, 0, 254);
        return BitConverter.UInt32BitsToSingle(sign | (biased << 23) | mant);
    }

    /// <summary>Pairs that round differently in each direction, the signed-zero and overflow edges, subnormals, and random pairs.</summary>
    private static List<ulong[]> AddCases()
    {
        float[][] hand =
        [
            [1f, Pow2(-24)], [1f, 3 * Pow2(-25)], [-1f, -Pow2(-25)], [1f, -Pow2(-25)], [-1f, 3 * Pow2(-25)], [1f, Pow2(-24) + Pow2(-40)],
            [float.MaxValue, float.MaxValue], [-float.MaxValue, -float.MaxValue], [float.MaxValue, Pow2(103)], [float.MaxValue, Pow2(102)],
            [1f, -1f], [-2.5f, 2.5f], [0f, -0f], [-0f, 0f], [-0f, -0f], [0f, 0f], [float.Epsilon, -float.Epsilon],
            [float.Epsilon, float.Epsilon], [1.17549435E-38f, -float.Epsilon], [-3 * float.Epsilon, 1e-45f], [1e-40f, 1e-39f],
            [1f, float.NaN], [float.PositiveInfinity, float.NegativeInfinity], [float.PositiveInfinity, 1f], [float.NegativeInfinity, -float.MaxValue],
            [16777216f, 1f], [16777216f, 3f], [-16777216f, -1f], [0.1f, 0.2f], [1e30f, 1e-30f], [-1e30f, 1e-30f],
        ];
        var cases = hand.Select(p => new[] { Bits(p[0]), Bits(p[1]) }).ToList();
        var r = new Random(21);
        for (int i = 0; i < 200; i++)
        {
            float a = RandomFloat(r, -10, 10);
            cases.Add([Bits(a), Bits(RandomFloat(r, -10 - r.Next(0, 30), 10))]);
        }
        for (int i = 0; i < 40; i++)
        {
            cases.Add([Bits(RandomFloat(r, -127, -120)), Bits(RandomFloat(r, -127, -118))]);
        }
        return cases;
    }

    private static List<ulong[]> MulCases()
    {
        float one = 1 + Pow2(-23);
        float[][] hand =
        [
            [one, one], [-one, one], [3f, 1f / 3f], [-3f, 1f / 3f], [float.MaxValue, 2f], [float.MaxValue, -2f], [Pow2(-100), Pow2(-100)],
            [-Pow2(-100), Pow2(-100)], [Pow2(-75) * 1.5f, Pow2(-75) * 1.5f], [Pow2(-70) * 1.25f, -Pow2(-70) * 1.75f], [0f, -5f], [-0f, -0f],
            [float.PositiveInfinity, 0f], [float.NegativeInfinity, 2f], [float.NaN, 1f], [float.Epsilon, 0.5f], [float.Epsilon, 1.5f], [float.Epsilon, -2.5f],
            [1.17549435E-38f, 0.75f], [0.1f, 0.1f], [16777215f, 16777215f],
        ];
        var cases = hand.Select(p => new[] { Bits(p[0]), Bits(p[1]) }).ToList();
        var r = new Random(22);
        for (int i = 0; i < 200; i++)
        {
            cases.Add([Bits(RandomFloat(r, -20, 20)), Bits(RandomFloat(r, -20, 20))]);
        }
        for (int i = 0; i < 40; i++)
        {
            cases.Add([Bits(RandomFloat(r, -80, -60)), Bits(RandomFloat(r, -80, -60))]);
        }
        return cases;
    }

    private static List<ulong[]> FmaCases()
    {
        // (2^25 - 1) * 2^103 is the midpoint between MaxValue and 2^128: a tail below it must round to MaxValue.
        float p1 = 18631f * Pow2(60), p2 = 1801f * Pow2(43);
        float one = 1 + Pow2(-23);
        float[][] hand =
        [
            [p1, p2, -1f], [p1, p2, 1f], [-p1, p2, 1f], [p1, p2, 0f],
            [one, one, -1f], [one, -one, 1f], [2f, 3f, -6f], [-2f, 3f, 6f], [0f, 5f, -0f], [-0f, 5f, -0f], [0f, -5f, 0f], [1f, 1f, -1f],
            [Pow2(-24), 1f, 1f], [Pow2(-24), 3f, 1f], [Pow2(-24), -1f, 1f], [Pow2(-24), 1f, -1f], [Pow2(-80), Pow2(-80), 1f], [-Pow2(-80), Pow2(-80), 1f],
            [Pow2(-80), Pow2(-80), -1f], [Pow2(-80), Pow2(-80), 0f], [-Pow2(-80), Pow2(-80), -0f], [Pow2(-70), 1.5f * Pow2(-70), float.Epsilon],
            [float.PositiveInfinity, 0f, 1f], [float.PositiveInfinity, 1f, float.NegativeInfinity], [float.MaxValue, 2f, -float.MaxValue],
            [float.NaN, 1f, 1f], [1f, 1f, float.NaN], [float.MaxValue, float.MaxValue, float.NegativeInfinity],
        ];
        var cases = hand.Select(p => new[] { Bits(p[0]), Bits(p[1]), Bits(p[2]) }).ToList();
        var r = new Random(23);
        for (int i = 0; i < 120; i++)
        {
            float a = RandomFloat(r, -10, 10), b = RandomFloat(r, -10, 10);
            float c = r.Next(3) switch
            {
                0 => -(a * b) * (1 + (r.Next(-8, 8) * Pow2(-23))), // heavy cancellation
                1 => RandomFloat(r, -30, 20),
                _ => -(a * b),                                    // leaves the product's rounding error
            };
            cases.Add([Bits(a), Bits(b), Bits(c)]);
        }
        for (int i = 0; i < 60; i++)
        {
            // nvcc's expf: fma.rm.f32 t, x, 0f3BBB989D (log2(e)/2^k), 0f3F000000 (0.5).
            cases.Add([Bits(RandomFloat(r, -8, 7)), 0x3BBB_989D, 0x3F00_0000]);
        }
        for (int i = 0; i < 30; i++)
        {
            cases.Add([Bits(RandomFloat(r, -70, -60)), Bits(RandomFloat(r, -70, -60)), Bits(RandomFloat(r, -130, -125))]);
        }
        return cases;
    }

    [TestCase("rn")]
    [TestCase("rz")]
    [TestCase("rm")]
    [TestCase("rp")]
    public void F32AddSubRoundInEveryDirection(string mode)
    {
        var m = ParseRnd(mode);
        var cases = AddCases();
        Check($"add.{mode}.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefAdd(Float(c[0]), Float(c[1]), m)), anyNaN: true);
        Check($"sub.{mode}.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefAdd(Float(c[0]), -Float(c[1]), m)), anyNaN: true);
    }

    [TestCase("rn")]
    [TestCase("rz")]
    [TestCase("rm")]
    [TestCase("rp")]
    public void F32MulRoundsInEveryDirection(string mode)
    {
        var m = ParseRnd(mode);
        Check($"mul.{mode}.f32 %D, %A, %B", F32, [F32, F32], MulCases(), c => Bits(RefMul(Float(c[0]), Float(c[1]), m)), anyNaN: true);
    }

    [TestCase("rn")]
    [TestCase("rz")]
    [TestCase("rm")]
    [TestCase("rp")]
    public void F32FmaRoundsOnceInEveryDirection(string mode)
    {
        var m = ParseRnd(mode);
        Check($"fma.{mode}.f32 %D, %A, %B, %C", F32, [F32, F32, F32], FmaCases(), c => Bits(RefFma(Float(c[0]), Float(c[1]), Float(c[2]), m)), anyNaN: true);
    }

    [Test]
    public void F32WithoutARoundingModifierRoundsToNearest()
    {
        Check("add.f32 %D, %A, %B", F32, [F32, F32], AddCases(), c => Bits(RefAdd(Float(c[0]), Float(c[1]), Rnd.Rn)), anyNaN: true);
        Check("sub.f32 %D, %A, %B", F32, [F32, F32], AddCases(), c => Bits(RefAdd(Float(c[0]), -Float(c[1]), Rnd.Rn)), anyNaN: true);
        Check("mul.f32 %D, %A, %B", F32, [F32, F32], MulCases(), c => Bits(RefMul(Float(c[0]), Float(c[1]), Rnd.Rn)), anyNaN: true);
    }

    [Test]
    public void F32ExactZeroSumIsNegativeOnlyTowardMinusInfinity()
    {
        var cases = new List<ulong[]>
        {
            new[] { Bits(1.5f), Bits(-1.5f) }, new[] { Bits(-7f), Bits(7f) }, new[] { Bits(0f), Bits(-0f) }, new[] { Bits(-0f), Bits(-0f) }, new[] { Bits(0f), Bits(0f) },
        };
        foreach (var mode in new[] { "rn", "rz", "rm", "rp" })
        {
            var m = ParseRnd(mode);
            Check($"add.{mode}.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefAdd(Float(c[0]), Float(c[1]), m)));
            Check($"fma.{mode}.f32 %D, %A, 0f3F800000, %B", F32, [F32, F32], cases, c => Bits(RefFma(Float(c[0]), 1f, Float(c[1]), m)));
        }
        // The GPU's answer for x - x under .rm, stated outright: -0.
        Check("sub.rm.f32 %D, %A, %A", F32, [F32], [[Bits(3f)], [Bits(-0.25f)]], _ => 0x8000_0000);
    }

    [Test]
    public void F32FmaTieAtTheOverflowThresholdIsBrokenByTheTail()
    {
        float p1 = 18631f * Pow2(60), p2 = 1801f * Pow2(43);
        Assert.That((double)p1 * p2, Is.EqualTo(((double)float.MaxValue + Math.ScaleB(1.0, 128)) / 2), "the product is the midpoint above MaxValue");
        var cases = new List<ulong[]> { new[] { Bits(p1), Bits(p2), Bits(-1f) }, new[] { Bits(p1), Bits(p2), Bits(1f) }, new[] { Bits(-p1), Bits(p2), Bits(1f) } };
        Check("fma.rn.f32 %D, %A, %B, %C", F32, [F32, F32, F32], cases, c => c[2] == Bits(-1f) ? Bits(float.MaxValue) : Bits(c[0] == Bits(p1) ? float.PositiveInfinity : -float.MaxValue));
    }

    [Test]
    public void F32FtzFlushesSubnormalInputsAndResults()
    {
        var r = new Random(24);
        var pairs = AddCases().Concat(MulCases()).ToList();
        for (int i = 0; i < 60; i++)
        {
            pairs.Add([Bits(RandomFloat(r, -150, -126)), Bits(RandomFloat(r, -130, -120))]);
        }
        Check("add.ftz.f32 %D, %A, %B", F32, [F32, F32], pairs, c => Bits(FlushF32(RefAdd(FlushF32(Float(c[0])), FlushF32(Float(c[1])), Rnd.Rn))), anyNaN: true);
        Check("sub.ftz.f32 %D, %A, %B", F32, [F32, F32], pairs, c => Bits(FlushF32(RefAdd(FlushF32(Float(c[0])), -FlushF32(Float(c[1])), Rnd.Rn))), anyNaN: true);
        Check("mul.ftz.f32 %D, %A, %B", F32, [F32, F32], pairs, c => Bits(FlushF32(RefMul(FlushF32(Float(c[0])), FlushF32(Float(c[1])), Rnd.Rn))), anyNaN: true);
        Check("fma.rn.ftz.f32 %D, %A, %B, %C", F32, [F32, F32, F32], FmaCases(),
            c => Bits(FlushF32(RefFma(FlushF32(Float(c[0])), FlushF32(Float(c[1])), FlushF32(Float(c[2])), Rnd.Rn))), anyNaN: true);
        Check("add.rz.ftz.f32 %D, %A, %B", F32, [F32, F32], pairs, c => Bits(FlushF32(RefAdd(FlushF32(Float(c[0])), FlushF32(Float(c[1])), Rnd.Rz))), anyNaN: true);
        // A subnormal input reads as a zero of its sign.
        Check("mul.ftz.f32 %D, %A, 0f3F800000", F32, [F32], [[Bits(-float.Epsilon)], [Bits(1e-39f)]], c => c[0] == Bits(-float.Epsilon) ? 0x8000_0000UL : 0);
    }

    [Test]
    public void F32SatClampsToZeroOneAndNaNToZero()
    {
        var cases = new List<ulong[]>();
        float[] values = [0.5f, 0.75f, -0.25f, 0.25f, 2f, -3f, 1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0.125f, 1e-40f];
        foreach (var a in values)
        {
            foreach (var b in values)
            {
                cases.Add([Bits(a), Bits(b)]);
            }
        }
        // .sat clamps to [0.0, 1.0]; NaN results become +0.0. Results of -0 are left out (the ISA does not say which zero).
        ulong? Sat(float v)
        {
            if (v == 0)
            {
                return null;
            }
            return Bits(float.IsNaN(v) ? 0f : Math.Clamp(v, 0f, 1f));
        }
        Check("add.sat.f32 %D, %A, %B", F32, [F32, F32], cases, c => Sat(RefAdd(Float(c[0]), Float(c[1]), Rnd.Rn)));
        Check("mul.sat.f32 %D, %A, %B", F32, [F32, F32], cases, c => Sat(RefMul(Float(c[0]), Float(c[1]), Rnd.Rn)));
        Check("fma.rn.sat.f32 %D, %A, %B, 0f3E800000", F32, [F32, F32], cases, c => Sat(RefFma(Float(c[0]), Float(c[1]), 0.25f, Rnd.Rn)));
    }

    /// <summary>Quotients: exact, inexact, subnormal, overflowing, and the special values.</summary>
    private static List<ulong[]> DivCases()
    {
        float[][] hand =
        [
            [1f, 3f], [-1f, 3f], [2f, 3f], [1f, 10f], [7f, 7f], [1f, 0f], [-1f, 0f], [0f, 0f], [0f, -2f], [float.PositiveInfinity, 2f],
            [float.PositiveInfinity, float.NegativeInfinity], [3f, float.PositiveInfinity], [float.NaN, 1f], [float.MaxValue, 0.5f],
            [float.MaxValue, float.Epsilon], [float.Epsilon, 2f], [float.Epsilon, 3f], [3 * float.Epsilon, 2f], [1.17549435E-38f, 3f],
            [1f, float.MaxValue], [1f, 1e-40f], [-5f, 1e-40f], [16777215f, 16777216f], [1f, 16777215f],
        ];
        var cases = hand.Select(p => new[] { Bits(p[0]), Bits(p[1]) }).ToList();
        var r = new Random(25);
        for (int i = 0; i < 200; i++)
        {
            cases.Add([Bits(RandomFloat(r, -30, 30)), Bits(RandomFloat(r, -30, 30))]);
        }
        for (int i = 0; i < 40; i++)
        {
            cases.Add([Bits(RandomFloat(r, -140, -120)), Bits(RandomFloat(r, 0, 20))]);
        }
        return cases;
    }

    [TestCase("rn")]
    [TestCase("rz")]
    [TestCase("rm")]
    [TestCase("rp")]
    public void F32DivIsCorrectlyRounded(string mode)
    {
        var m = ParseRnd(mode);
        Check($"div.{mode}.f32 %D, %A, %B", F32, [F32, F32], DivCases(), c => Bits(RefDiv(Float(c[0]), Float(c[1]), m)), anyNaN: true);
    }

    [Test]
    public void F32RcpRnAndSqrtRnAreCorrectlyRounded()
    {
        var r = new Random(26);
        float[] hand =
        [
            1f, 2f, 3f, -3f, 10f, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, -float.MaxValue,
            float.Epsilon, 1e-40f, 1.17549435E-38f, 16777215f, 0.1f, 2.5f, 1e-45f * 7, 4f, 16f, 1.5f, -1f,
        ];
        var cases = hand.Concat(Enumerable.Range(0, 150).Select(_ => RandomFloat(r, -126, 127))).Concat(Enumerable.Range(0, 30).Select(_ => RandomFloat(r, -149, -127)))
            .Select(f => new[] { Bits(f) }).ToList();
        Check("rcp.rn.f32 %D, %A", F32, [F32], cases, c => Bits(RefDiv(1f, Float(c[0]), Rnd.Rn)), anyNaN: true);
        Check("sqrt.rn.f32 %D, %A", F32, [F32], cases, c => Bits(RefSqrt(Float(c[0]), Rnd.Rn)), anyNaN: true);
        Check("div.rn.f32 %D, 0f3F800000, %A", F32, [F32], cases, c => Bits(RefDiv(1f, Float(c[0]), Rnd.Rn)), anyNaN: true);
    }

    private static float RefMinMax(float a, float b, bool max)
    {
        if (float.IsNaN(a) && float.IsNaN(b))
        {
            return BitConverter.UInt32BitsToSingle(0x7FFF_FFFF); // the canonical NaN
        }
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            return float.IsNaN(a) ? b : a;
        }
        if (a == 0 && b == 0)
        {
            // -0.0 is below +0.0.
            bool anyNeg = float.IsNegative(a) || float.IsNegative(b), anyPos = !float.IsNegative(a) || !float.IsNegative(b);
            return max ? (anyPos ? 0f : -0f) : (anyNeg ? -0f : 0f);
        }
        return max ? (a > b ? a : b) : (a < b ? a : b);
    }

    [Test]
    public void F32MinMaxWithNaNAndSignedZeros()
    {
        var cases = new List<ulong[]>();
        foreach (var a in FloatValues)
        {
            foreach (var b in FloatValues)
            {
                cases.Add([Bits(a), Bits(b)]);
            }
        }
        Check("min.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefMinMax(Float(c[0]), Float(c[1]), max: false)));
        Check("max.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefMinMax(Float(c[0]), Float(c[1]), max: true)));
        Check("max.ftz.f32 %D, %A, %B", F32, [F32, F32], cases, c => Bits(RefMinMax(FlushF32(Float(c[0])), FlushF32(Float(c[1])), max: true)));
        // .NaN: any NaN operand gives the canonical NaN.
        Check("min.NaN.f32 %D, %A, %B", F32, [F32, F32], cases,
            c => float.IsNaN(Float(c[0])) || float.IsNaN(Float(c[1])) ? 0x7FFF_FFFFUL : Bits(RefMinMax(Float(c[0]), Float(c[1]), max: false)));
    }

    [Test]
    public void F32AbsNegFlipOnlyTheSignAndFtzFlushes()
    {
        var cases = FloatValues.Where(f => !float.IsNaN(f)).Select(f => new[] { Bits(f) }).ToList();
        Check("abs.f32 %D, %A", F32, [F32], cases, c => c[0] & 0x7FFF_FFFF);
        Check("neg.f32 %D, %A", F32, [F32], cases, c => c[0] ^ 0x8000_0000);
        Check("abs.ftz.f32 %D, %A", F32, [F32], cases, c => Bits(FlushF32(Float(c[0]))) & 0x7FFF_FFFF);
        Check("neg.ftz.f32 %D, %A", F32, [F32], cases, c => Bits(FlushF32(Float(c[0]))) ^ 0x8000_0000);
    }

    [Test]
    public void F64ArithmeticIsIeeeRoundToNearest()
    {
        var r = new Random(27);
        double[] hand =
        [
            1, -1, 3, 0.1, 1e308, -1e308, double.Epsilon, 1 + Math.ScaleB(1, -52), Math.ScaleB(1, -53), 0, -0.0, double.PositiveInfinity, double.NaN, 2.5e-310, 7,
        ];
        var cases = new List<ulong[]>();
        foreach (var a in hand)
        {
            foreach (var b in hand)
            {
                cases.Add([BitConverter.DoubleToUInt64Bits(a), BitConverter.DoubleToUInt64Bits(b), BitConverter.DoubleToUInt64Bits(hand[cases.Count % hand.Length])]);
            }
        }
        for (int i = 0; i < 200; i++)
        {
            double a = (r.NextDouble() - 0.5) * Math.ScaleB(1, r.Next(-40, 40)), b = (r.NextDouble() - 0.5) * Math.ScaleB(1, r.Next(-40, 40));
            cases.Add([BitConverter.DoubleToUInt64Bits(a), BitConverter.DoubleToUInt64Bits(b), BitConverter.DoubleToUInt64Bits(-a * b)]);
        }
        // .NET's double arithmetic is IEEE 754 binary64 with round-to-nearest-even: the ISA's .rn.
        static double D(ulong v) => BitConverter.UInt64BitsToDouble(v);
        static ulong U(double v) => BitConverter.DoubleToUInt64Bits(v);
        Check("add.f64 %D, %A, %B", F64, [F64, F64], cases, c => U(D(c[0]) + D(c[1])), anyNaN: true);
        Check("add.rn.f64 %D, %A, %B", F64, [F64, F64], cases, c => U(D(c[0]) + D(c[1])), anyNaN: true);
        Check("sub.f64 %D, %A, %B", F64, [F64, F64], cases, c => U(D(c[0]) - D(c[1])), anyNaN: true);
        Check("mul.rn.f64 %D, %A, %B", F64, [F64, F64], cases, c => U(D(c[0]) * D(c[1])), anyNaN: true);
        Check("div.rn.f64 %D, %A, %B", F64, [F64, F64], cases, c => U(D(c[0]) / D(c[1])), anyNaN: true);
        Check("fma.rn.f64 %D, %A, %B, %C", F64, [F64, F64, F64], cases, c => U(Math.FusedMultiplyAdd(D(c[0]), D(c[1]), D(c[2]))), anyNaN: true);
        Check("neg.f64 %D, %A", F64, [F64], cases.Where(c => !double.IsNaN(D(c[0]))).ToList(), c => c[0] ^ (1UL << 63));
        Check("abs.f64 %D, %A", F64, [F64], cases.Where(c => !double.IsNaN(D(c[0]))).ToList(), c => c[0] & ~(1UL << 63));
    }

    /// <summary>Runs a one-source f32 instruction and checks each lane against a tolerance (the ISA bounds approximate instructions' error, it does not fix their bits).</summary>
    private static void CheckApprox(string instr, float[] inputs, Func<float, double> exact, Func<float, double, float, bool> acceptable)
    {
        var got = Run(instr, [F32], [F32], inputs.Select(f => new[] { (ulong)Bits(f) }).ToList())[0];
        var failures = new List<string>();
        for (int i = 0; i < inputs.Length; i++)
        {
            float have = Float(got[i]);
            double want = exact(inputs[i]);
            if (!acceptable(inputs[i], want, have))
            {
                failures.Add($"{instr} [{inputs[i].ToString("R", CultureInfo.InvariantCulture)}] = {have.ToString("R", CultureInfo.InvariantCulture)}, exact {want.ToString("R", CultureInfo.InvariantCulture)}");
            }
        }
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(24)));
    }

    private static bool Near(double want, float have, double relative, double absolute = 0)
    {
        if (double.IsNaN(want))
        {
            return float.IsNaN(have);
        }
        if (double.IsInfinity(want) || want == 0 || float.IsInfinity((float)want))
        {
            // Past the f32 range the result is the rounded infinity.
            return have == (float)want || Math.Abs(have - want) <= absolute;
        }
        return Math.Abs(have - want) <= (Math.Abs(want) * relative) + absolute;
    }

    [Test]
    public void ApproximateFunctionsAreWithinTheIsaBounds()
    {
        var r = new Random(28);
        float[] args = [0f, -0f, 1f, -1f, 0.5f, 2f, 10f, -10f, 100f, -100f, 127.5f, -126.5f, 128f, -150f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, 3.3f, -0.7f];
        var many = args.Concat(Enumerable.Range(0, 100).Select(_ => (float)((r.NextDouble() - 0.5) * 60))).ToArray();
        // ex2.approx.f32: maximum relative error 2 ulp (2^-22); .ftz reads a subnormal input as 0 (2^0 = 1).
        CheckApprox("ex2.approx.f32 %D, %A", many, x => Math.Pow(2, x), (x, want, have) => Near(want, have, Math.ScaleB(1, -21), float.Epsilon));
        CheckApprox("ex2.approx.ftz.f32 %D, %A", many, x => Math.Pow(2, FlushF32(x)), (x, want, have) => Near(want, FlushF32(have) == have ? have : float.NaN, Math.ScaleB(1, -21)) || (want < Math.ScaleB(1, -126) && have == 0));
        var positive = args.Where(x => x > 0).Concat(Enumerable.Range(0, 100).Select(_ => RandomFloat(r, -120, 120))).Select(Math.Abs).Concat([-1f, -0f, 0f, float.NaN]).ToArray();
        // lg2.approx.f32: absolute error 2^-22 near 1, relative 2^-22 elsewhere; lg2(0) = -inf, lg2(x < 0) = NaN.
        CheckApprox("lg2.approx.f32 %D, %A", positive, x => x < 0 ? double.NaN : Math.Log2(x), (x, want, have) => Near(want, have, Math.ScaleB(1, -21), Math.ScaleB(1, -21)));
        // rcp.approx.ftz.f32: within 1 ulp; rcp(±0) = ±inf, rcp(±inf) = ±0.
        CheckApprox("rcp.approx.ftz.f32 %D, %A", many.Where(x => !float.IsSubnormal(x) && Math.Abs(x) < 1e37f).ToArray(), x => 1.0 / x, (x, want, have) => Near(want, have, Math.ScaleB(1, -22)));
        // tanh.approx.f32: maximum relative error about 2^-11; saturates to ±1.
        CheckApprox("tanh.approx.f32 %D, %A", many, x => Math.Tanh(x), (x, want, have) => Near(want, have, Math.ScaleB(1, -10), Math.ScaleB(1, -20)));
    }

    [Test]
    public void ConversionsInsideAKernel()
    {
        var s32 = Edges(32).Select(v => new[] { v }).ToList();
        Check("cvt.rn.f32.s32 %D, %A", F32, [B32], s32, c => Bits(RoundF32(Interpret(c[0], 32, true) < 0, BigInteger.Abs(Interpret(c[0], 32, true)), false, 0, Rnd.Rn)));
        Check("cvt.s64.s32 %D, %A", B64, [B32], s32, c => Wrap(Interpret(c[0], 32, true), 64));
        Check("cvt.u64.u32 %D, %A", B64, [B32], s32, c => c[0] & 0xFFFF_FFFF);
        Check("cvt.u16.u32 %D, %A", B16, [B32], s32, c => c[0] & 0xFFFF);
        Check("cvt.u32.u64 %D, %A", B32, [B64], Edges(64).Select(v => new[] { v }).ToList(), c => c[0] & 0xFFFF_FFFF);
        var s16 = Edges(16).Concat(new ulong[] { 0x80, 0x7F, 0xFF, 0x1FF }).Select(v => new[] { v }).ToList();
        Check("cvt.s16.s8 %D, %A", B16, [B16], s16, c => Wrap(Interpret(c[0], 8, true), 16));
        Check("cvt.u32.u16 %D, %A", B32, [B16], s16, c => c[0] & 0xFFFF);
        Check("cvt.rn.f32.s16 %D, %A", F32, [B16], s16, c => Bits((float)(int)Interpret(c[0], 16, true)));
        float[] floats = [0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 3.7f, -3.7f, 2147483520f, 3e9f, -3e9f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 1e-40f];
        var fc = floats.Select(f => new[] { (ulong)Bits(f) }).ToList();
        // Float to integer saturates to the type's range; NaN converts to 0.
        static ulong ToS32(double v) => double.IsNaN(v) ? 0 : Wrap((BigInteger)Math.Clamp(v, int.MinValue, int.MaxValue), 32);
        Check("cvt.rzi.s32.f32 %D, %A", B32, [F32], fc, c => ToS32(Math.Truncate(Float(c[0]))));
        Check("cvt.rni.s32.f32 %D, %A", B32, [F32], fc, c => ToS32(Math.Round(Float(c[0]), MidpointRounding.ToEven)));
        Check("cvt.sat.f32.f32 %D, %A", F32, [F32], fc.Where(c => Float(c[0]) is not (-0f or 1e-40f) && !(Float(c[0]) < 0 && Float(c[0]) > -1)).ToList(),
            c => Bits(float.IsNaN(Float(c[0])) ? 0f : Math.Clamp(Float(c[0]), 0f, 1f)));
        Check("cvt.f64.f32 %D, %A", F64, [F32], fc, c => BitConverter.DoubleToUInt64Bits(Float(c[0])), anyNaN: true);
        double[] doubles = [1 + Math.ScaleB(1, -24), 1 + Math.ScaleB(1, -24) + Math.ScaleB(1, -50), -(1 + Math.ScaleB(1, -24) + Math.ScaleB(1, -50)), 1 + (3 * Math.ScaleB(1, -24)), 1e39, 1e-46, 0.1];
        Check("cvt.rn.f32.f64 %D, %A", F32, [F64], doubles.Select(d => new[] { BitConverter.DoubleToUInt64Bits(d) }).ToList(), c => Bits((float)BitConverter.UInt64BitsToDouble(c[0])));
        Check("cvt.rn.f64.s32 %D, %A", F64, [B32], s32, c => BitConverter.DoubleToUInt64Bits((double)Interpret(c[0], 32, true)));
    }
}
