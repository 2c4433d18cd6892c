// Half-precision arithmetic (Isa/Half2.cs) against hand-computed results from the ISA's "Half
// Precision Floating Point Instructions" sections: packing order, ties to even, overflow, .ftz,
// .sat, .relu, NaN, ±0 in min/max, .xorsign.abs, and single rounding of fma (including a bf16 case
// where rounding the double sum first would break a tie the wrong way).
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaHalf2Tests
{
    private const ushort One = 0x3C00, Two = 0x4000, Half = 0x3800, MinusOne = 0xBC00, NaN = 0x7E00;

    [Test]
    public void PackedOpsWorkOnEachHalfWithElementZeroLow()
    {
        uint a = Half2.Pack(One, Two);              // {1.0, 2.0}
        uint b = Half2.Pack(Half, MinusOne);        // {0.5, -1.0}
        Assert.That(a, Is.EqualTo(0x4000_3C00u));
        Assert.That(Half2.Add(a, b, bf16: false), Is.EqualTo(0x3C00_3E00u));   // {1.5, 1.0}
        Assert.That(Half2.Sub(a, b, bf16: false), Is.EqualTo(0x4200_3800u));   // {0.5, 3.0}
        Assert.That(Half2.Mul(a, b, bf16: false), Is.EqualTo(0xC000_3800u));   // {0.5, -2.0}
        Assert.That(Half2.Fma(a, b, a, bf16: false), Is.EqualTo(0x0000_3E00u)); // {1.5, 0.0}
        Assert.That(Half2.Neg(a, bf16: false), Is.EqualTo(0xC000_BC00u));
        Assert.That(Half2.Abs(0xC000_BC00u, bf16: false), Is.EqualTo(0x4000_3C00u));
    }

    [TestCase((ushort)0x6800, (ushort)0x3C00, (ushort)0x6800)]   // 2048 + 1 = 2049: tie -> 2048
    [TestCase((ushort)0x6801, (ushort)0x3C00, (ushort)0x6802)]   // 2050 + 1 = 2051: tie -> 2052
    [TestCase((ushort)0x7BFF, (ushort)0x4C00, (ushort)0x7C00)]   // 65504 + 16 = 65520: tie -> Inf
    [TestCase((ushort)0x7BFF, (ushort)0x4800, (ushort)0x7BFF)]   // 65504 + 8 stays
    [TestCase((ushort)0x7C00, (ushort)0xFC00, (ushort)0x7FFF)]   // Inf - Inf -> canonical NaN
    [TestCase((ushort)0x0001, (ushort)0x0001, (ushort)0x0002)]   // subnormals are kept
    [TestCase((ushort)0x8000, (ushort)0x0000, (ushort)0x0000)]   // -0 + +0 = +0
    [TestCase((ushort)0x8000, (ushort)0x8000, (ushort)0x8000)]   // -0 + -0 = -0
    public void AddsF16RoundingOnce(ushort a, ushort b, ushort expected) =>
        Assert.That(HalfOps.Add(a, b, bf16: false), Is.EqualTo(expected));

    [Test]
    public void FtzFlushesSubnormalInputsAndResults()
    {
        Assert.That(HalfOps.Add(0x0001, 0x0001, false, HalfMods.Ftz), Is.EqualTo((ushort)0x0000));
        Assert.That(HalfOps.Mul(0x0400, Half, false), Is.EqualTo((ushort)0x0200));          // 2^-15, subnormal
        Assert.That(HalfOps.Mul(0x0400, Half, false, HalfMods.Ftz), Is.EqualTo((ushort)0x0000));
        Assert.That(HalfOps.Mul(0x8400, Half, false, HalfMods.Ftz), Is.EqualTo((ushort)0x8000)); // sign kept
        Assert.That(HalfOps.Neg(0x0001, false, HalfMods.Ftz), Is.EqualTo((ushort)0x8000));
    }

    [Test]
    public void SatClampsToUnitIntervalAndNaNToZero()
    {
        Assert.That(HalfOps.Add(0x3A00, Half, false, HalfMods.Sat), Is.EqualTo(One));          // 0.75 + 0.5
        Assert.That(HalfOps.Add(MinusOne, Half, false, HalfMods.Sat), Is.EqualTo((ushort)0));   // -0.5
        Assert.That(HalfOps.Add(NaN, One, false, HalfMods.Sat), Is.EqualTo((ushort)0));
        Assert.That(HalfOps.Mul(0x7C00, 0x0000, false, HalfMods.Sat), Is.EqualTo((ushort)0)); // Inf*0 = NaN
        Assert.That(HalfOps.Fma(Two, Two, MinusOne, false, HalfMods.Sat), Is.EqualTo(One));
    }

    [Test]
    public void FmaRoundsOnceWhereMulThenAddWouldNot()
    {
        // (1 + 3*2^-10)^2 - 1 = 6*2^-10 + 9*2^-20 = 1.5*2^-8 + 2.25 ulp (ulp 2^-18 there)
        // -> 1.5*2^-8 + 2*2^-18 = 0x1E02. Rounding the product first loses the 9*2^-20 and
        // gives 6*2^-10 = 0x1E00.
        Assert.That(HalfOps.Fma(0x3C03, 0x3C03, MinusOne, bf16: false), Is.EqualTo((ushort)0x1E02));
        ushort product = HalfOps.Mul(0x3C03, 0x3C03, bf16: false);
        Assert.That(product, Is.EqualTo((ushort)0x3C06));
        Assert.That(HalfOps.Add(product, MinusOne, bf16: false), Is.EqualTo((ushort)0x1E00));
    }

    [Test]
    public void Bf16FmaBreaksATieByTheExactValueNotByTheDoubleSum()
    {
        // 1.5 * (1 + 2^-7) = 1.51171875, the midpoint of 0x3FC1 (1.5078125) and 0x3FC2 (1.515625).
        // Adding c = -2^-100 puts the exact sum just below it: correct result 0x3FC1. In double the
        // sum rounds back to the midpoint and ties-to-even would give 0x3FC2.
        Assert.That(HalfOps.Fma(0x3FC0, 0x3F81, 0x8D80, bf16: true), Is.EqualTo((ushort)0x3FC1));
        Assert.That(HalfOps.Fma(0x3FC0, 0x3F81, 0x0D80, bf16: true), Is.EqualTo((ushort)0x3FC2));
        Assert.That(HalfOps.Fma(0x3FC0, 0x3F81, 0x0000, bf16: true), Is.EqualTo((ushort)0x3FC2)); // exact tie
    }

    [Test]
    public void Bf16AddAndMul()
    {
        Assert.That(HalfOps.Mul(0x3FC0, 0x3FC0, bf16: true), Is.EqualTo((ushort)0x4010));   // 1.5^2 = 2.25
        Assert.That(HalfOps.Add(0x3F80, 0x0D80, bf16: true), Is.EqualTo((ushort)0x3F80));   // 1 + 2^-100
        Assert.That(HalfOps.Sub(0x3F80, 0x0D80, bf16: true), Is.EqualTo((ushort)0x3F80));   // 1 - 2^-100 -> 1.0
        Assert.That(HalfOps.Sub(0x3F80, 0x3B80, bf16: true), Is.EqualTo((ushort)0x3F7F));   // 1 - 2^-8, exact
        Assert.That(HalfOps.Add(0x7F7F, 0x7B00, bf16: true), Is.EqualTo((ushort)0x7F80));   // max + half ulp: tie -> Inf
    }

    [Test]
    public void ReluClampsNegativeResultsAndCanonicalisesNaN()
    {
        Assert.That(HalfOps.Fma(MinusOne, One, 0x0000, false, HalfMods.Relu), Is.EqualTo((ushort)0));
        Assert.That(HalfOps.Fma(NaN, One, One, false, HalfMods.Relu), Is.EqualTo((ushort)0x7FFF));
        Assert.That(HalfOps.Fma(One, One, One, false, HalfMods.Relu), Is.EqualTo(Two));
        Assert.That(Half2.Fma(0xBF80_3F80u, 0x3F80_3F80u, 0, bf16: true, HalfMods.Relu), Is.EqualTo(0x0000_3F80u));
    }

    [Test]
    public void MinMaxFollowTheIsaSemantics()
    {
        uint a = Half2.Pack(One, NaN), b = Half2.Pack(Two, 0x4200);   // {1, NaN} vs {2, 3}
        Assert.That(Half2.Min(a, b, false), Is.EqualTo(0x4200_3C00u));                  // NaN ignored
        Assert.That(Half2.Min(a, b, false, HalfMods.NaN), Is.EqualTo(0x7FFF_3C00u));     // .NaN
        Assert.That(Half2.Max(a, b, false), Is.EqualTo(0x4200_4000u));
        Assert.That(HalfOps.Min(NaN, 0xFE01, false), Is.EqualTo((ushort)0x7FFF));         // both NaN
        Assert.That(HalfOps.Min(0x8000, 0x0000, false), Is.EqualTo((ushort)0x8000));      // -0 < +0
        Assert.That(HalfOps.Min(0x0000, 0x8000, false), Is.EqualTo((ushort)0x8000));
        Assert.That(HalfOps.Max(0x8000, 0x0000, false), Is.EqualTo((ushort)0x0000));
        Assert.That(HalfOps.Min(0xC000, 0x4200, false, HalfMods.XorSignAbs), Is.EqualTo((ushort)0xC000)); // -|2|
        Assert.That(HalfOps.Max(0xC000, 0x4200, false, HalfMods.XorSignAbs), Is.EqualTo((ushort)0xC200)); // -|3|
        Assert.That(HalfOps.Max(0xC000, 0xC200, false, HalfMods.XorSignAbs), Is.EqualTo((ushort)0x4200)); // +|3|
        Assert.That(HalfOps.Min(0xBF80, 0x3F80, true), Is.EqualTo((ushort)0xBF80));       // bf16
        Assert.That(HalfOps.Min(0x0001, 0x8001, false, HalfMods.Ftz), Is.EqualTo((ushort)0x8000));
    }

    // f16 add/mul/fma against an exact rational reference on a grid of values including
    // subnormals, the overflow edge and both signs (the reference rounds with decimal-free integer
    // arithmetic, independent of FpFormat).
    [Test]
    public void F16OpsMatchAnExactReferenceOnAGrid()
    {
        ushort[] grid =
        [
            0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3555, 0x3C00, 0x3C01, 0xBC01, 0x3E00,
            0x4248, 0x5640, 0x7BFF, 0xFBFF, 0x6800, 0x1400, 0x9400, 0x2E66, 0xC8CD,
        ];
        foreach (ushort a in grid)
        {
            foreach (ushort b in grid)
            {
                AssertRounded(HalfOps.Add(a, b, false), F16Rational(a) + F16Rational(b), $"add {a:X4} {b:X4}");
                AssertRounded(HalfOps.Mul(a, b, false), F16Rational(a) * F16Rational(b), $"mul {a:X4} {b:X4}");
                foreach (ushort c in grid)
                {
                    AssertRounded(HalfOps.Fma(a, b, c, false), F16Rational(a) * F16Rational(b) + F16Rational(c),
                        $"fma {a:X4} {b:X4} {c:X4}");
                }
            }
        }
    }

    // An exact zero's sign follows IEEE's sum rules, which the rational reference does not model:
    // there only the magnitude is compared.
    private static void AssertRounded(ushort got, Q48 exact, string what)
    {
        if (exact.IsZero)
        {
            Assert.That(got & 0x7FFF, Is.EqualTo(0), what);
        }
        else
        {
            Assert.That(got, Is.EqualTo(RefF16(exact)), what);
        }
    }

    // Exact value of a finite f16 as a multiple of 2^-48 (products of two f16 are multiples of 2^-48).
    private readonly record struct Q48(System.Numerics.BigInteger N)
    {
        public bool IsZero => N.IsZero;
        public static Q48 operator +(Q48 x, Q48 y) => new(x.N + y.N);
        // x*y = (Nx * 2^-48)(Ny * 2^-48) = Nx*Ny*2^-96; only used for products of values that are
        // multiples of 2^-24, so Nx*Ny is a multiple of 2^48.
        public static Q48 operator *(Q48 x, Q48 y) => new(x.N * y.N >> 48);
    }

    private static Q48 F16Rational(ushort h)
    {
        int e = (h >> 10) & 0x1F, m = h & 0x3FF;
        System.Numerics.BigInteger mag = e == 0 ? m : (1024 + m) * System.Numerics.BigInteger.Pow(2, e - 1);
        // value = mag * 2^-24; as a multiple of 2^-48: mag << 24.
        mag <<= 24;
        return new Q48((h & 0x8000) != 0 ? -mag : mag);
    }

    // Round an exact multiple of 2^-48 to f16 (ties to even, overflow to Inf) by brute force over codes.
    private static ushort RefF16(Q48 q)
    {
        var n = System.Numerics.BigInteger.Abs(q.N);
        ushort sign = (ushort)(q.N.Sign < 0 ? 0x8000 : 0);
        if (n.IsZero)
        {
            return sign;
        }
        // Find the largest code whose value <= n, then compare the distance to the next one.
        int lo = 0, hi = 0x7BFF;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) / 2;
            if (F16Rational((ushort)mid).N <= n) lo = mid; else hi = mid - 1;
        }
        var below = F16Rational((ushort)lo).N;
        if (below == n)
        {
            return (ushort)(sign | lo);
        }
        // Above the max: the next "code" is 65536 (2^16) for the overflow decision.
        var above = lo == 0x7BFF ? System.Numerics.BigInteger.Pow(2, 16 + 48) : F16Rational((ushort)(lo + 1)).N;
        var dBelow = n - below;
        var dAbove = above - n;
        int next = lo + 1;
        bool up = dAbove < dBelow || (dAbove == dBelow && (lo & 1) == 1);
        return (ushort)(sign | (up ? next : lo));   // next == 0x7C00 is Inf
    }
}
