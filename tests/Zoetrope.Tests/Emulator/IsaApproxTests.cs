// Special functions and IEEE div/rcp/sqrt (Isa/Approx.cs): the special-value tables of the ISA's
// ex2, lg2, rcp, rcp.approx.ftz.f64, sqrt, rsqrt, rsqrt.approx.ftz.f64, sin, cos, tanh sections
// (and the half-precision ex2/tanh), .ftz, accuracy within the ISA's stated bounds, and all four
// rounding directions of div/rcp/sqrt with hand-derived bit patterns.
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaApproxTests
{
    private const uint PInf = 0x7F80_0000, NInf = 0xFF80_0000, PZero = 0, NZero = 0x8000_0000, NaN = 0x7FFF_FFFF,
        One = 0x3F80_0000, MinusOne = 0xBF80_0000, Sub1 = 0x0000_0001;

    [TestCase(NInf, PZero)]
    [TestCase(NZero, One)]
    [TestCase(PZero, One)]
    [TestCase(PInf, PInf)]
    [TestCase(0x7FC0_0000u, NaN)]
    [TestCase(One, 0x4000_0000u)]            // 2^1
    [TestCase(0x3F00_0000u, 0x3FB5_04F3u)]   // 2^0.5 = sqrt2, correctly rounded
    [TestCase(0xC315_0000u, Sub1)]           // 2^-149
    [TestCase(0xC2FC_0000u, 0x0080_0000u)]   // 2^-126
    public void Ex2(uint a, uint expected) => Assert.That(Approx.Ex2F32(a, ftz: false), Is.EqualTo(expected));

    [Test]
    public void Ex2FtzFlushesSubnormalResultsAndInputs()
    {
        Assert.That(Approx.Ex2F32(0xC315_0000u, ftz: true), Is.EqualTo(PZero));
        Assert.That(Approx.Ex2F32(0x8000_0001u, ftz: true), Is.EqualTo(One));
    }

    [TestCase(NInf, NaN)]
    [TestCase(MinusOne, NaN)]
    [TestCase(NZero, NInf)]
    [TestCase(PZero, NInf)]
    [TestCase(PInf, PInf)]
    [TestCase(0x7FC0_0000u, NaN)]
    [TestCase(0x4100_0000u, 0x4040_0000u)]   // lg2(8) = 3
    [TestCase(Sub1, 0xC315_0000u)]           // lg2(2^-149) = -149
    public void Lg2(uint a, uint expected) => Assert.That(Approx.Lg2F32(a, ftz: false), Is.EqualTo(expected));

    [Test]
    public void Lg2FtzSeesSubnormalsAsZero() => Assert.That(Approx.Lg2F32(Sub1, ftz: true), Is.EqualTo(NInf));

    [TestCase(NInf, NZero)]
    [TestCase(NZero, NInf)]
    [TestCase(PZero, PInf)]
    [TestCase(PInf, PZero)]
    [TestCase(0x7FC0_0000u, NaN)]
    [TestCase(0x4040_0000u, 0x3EAA_AAABu)]   // 1/3
    [TestCase(0x7F00_0000u, 0x0040_0000u)]   // 1/2^127 = 2^-127, subnormal
    public void RcpApprox(uint a, uint expected) => Assert.That(Approx.RcpApproxF32(a, ftz: false), Is.EqualTo(expected));

    [Test]
    public void RcpApproxFtz()
    {
        Assert.That(Approx.RcpApproxF32(0x7F00_0000u, ftz: true), Is.EqualTo(PZero));
        Assert.That(Approx.RcpApproxF32(0x8000_0001u, ftz: true), Is.EqualTo(NInf));
    }

    [TestCase(NInf, NaN)]
    [TestCase(MinusOne, NaN)]
    [TestCase(NZero, NZero)]
    [TestCase(PZero, PZero)]
    [TestCase(PInf, PInf)]
    [TestCase(0x4080_0000u, 0x4000_0000u)]   // sqrt 4 = 2
    public void SqrtApprox(uint a, uint expected) => Assert.That(Approx.SqrtApproxF32(a, ftz: false), Is.EqualTo(expected));

    [TestCase(NInf, NaN)]
    [TestCase(MinusOne, NaN)]
    [TestCase(NZero, NInf)]
    [TestCase(PZero, PInf)]
    [TestCase(PInf, PZero)]
    [TestCase(0x4080_0000u, 0x3F00_0000u)]   // 1/sqrt 4 = 0.5
    public void RsqrtApprox(uint a, uint expected) => Assert.That(Approx.RsqrtApproxF32(a, ftz: false), Is.EqualTo(expected));

    [TestCase(NInf, MinusOne)]
    [TestCase(NZero, NZero)]
    [TestCase(PZero, PZero)]
    [TestCase(PInf, One)]
    [TestCase(0x7FC0_0000u, NaN)]
    [TestCase(Sub1, Sub1)]                   // subnormals pass through
    public void Tanh(uint a, uint expected) => Assert.That(Approx.TanhF32(a), Is.EqualTo(expected));

    [TestCase(NInf, NaN, NaN)]
    [TestCase(NZero, NZero, One)]
    [TestCase(PZero, PZero, One)]
    [TestCase(PInf, NaN, NaN)]
    [TestCase(0x7FC0_0000u, NaN, NaN)]
    public void SinCosSpecials(uint a, uint sin, uint cos)
    {
        Assert.That(Approx.SinF32(a, ftz: false), Is.EqualTo(sin));
        Assert.That(Approx.CosF32(a, ftz: false), Is.EqualTo(cos));
    }

    // The ISA's bounds: 2^-20.5 absolute in [-2pi, 2pi], 2^-14.7 in [-100pi, 100pi];
    // ex2 within 2 ulp; lg2 2^-22 absolute in (0.5, 2) else relative; rsqrt 2^-22.9, sqrt 2^-23,
    // tanh 2^-11 relative. Our model must meet them against the exact function.
    [Test]
    public void ApproximationsMeetTheIsaBounds()
    {
        var rng = new Random(12345);
        for (int n = 0; n < 20000; n++)
        {
            float x = (float)((rng.NextDouble() * 2 - 1) * 2 * Math.PI);
            Assert.That(Math.Abs(Approx.F(Approx.SinF32(Approx.Bits(x), false)) - Math.Sin(x)), Is.LessThanOrEqualTo(Math.Pow(2, -20.5)), $"sin {x}");
            Assert.That(Math.Abs(Approx.F(Approx.CosF32(Approx.Bits(x), false)) - Math.Cos(x)), Is.LessThanOrEqualTo(Math.Pow(2, -20.5)), $"cos {x}");
            float y = (float)((rng.NextDouble() * 2 - 1) * 100 * Math.PI);
            Assert.That(Math.Abs(Approx.F(Approx.SinF32(Approx.Bits(y), false)) - Math.Sin(y)), Is.LessThanOrEqualTo(Math.Pow(2, -14.7)), $"sin {y}");
            float e = (float)((rng.NextDouble() * 2 - 1) * 120);
            double ex = Math.Pow(2, e);
            Assert.That(Math.Abs(Approx.F(Approx.Ex2F32(Approx.Bits(e), false)) - ex), Is.LessThanOrEqualTo(2 * Ulp((float)ex)), $"ex2 {e}");
            float p = (float)Math.Pow(2, (rng.NextDouble() * 2 - 1) * 100);
            double lg = Math.Log2(p);
            double lgErr = Math.Abs(Approx.F(Approx.Lg2F32(Approx.Bits(p), false)) - lg);
            Assert.That(lgErr, Is.LessThanOrEqualTo(p > 0.5 && p < 2 ? Math.Pow(2, -22) : Math.Pow(2, -22) * Math.Abs(lg)), $"lg2 {p}");
            double rs = 1 / Math.Sqrt(p);
            Assert.That(Math.Abs(Approx.F(Approx.RsqrtApproxF32(Approx.Bits(p), false)) - rs), Is.LessThanOrEqualTo(Math.Pow(2, -22.9) * rs), $"rsqrt {p}");
            Assert.That(Math.Abs(Approx.F(Approx.SqrtApproxF32(Approx.Bits(p), false)) - Math.Sqrt(p)), Is.LessThanOrEqualTo(Math.Pow(2, -23) * Math.Sqrt(p)), $"sqrt {p}");
            float t = (float)((rng.NextDouble() * 2 - 1) * 10);
            Assert.That(Math.Abs(Approx.F(Approx.TanhF32(Approx.Bits(t))) - Math.Tanh(t)), Is.LessThanOrEqualTo(Math.Pow(2, -11) * Math.Abs(Math.Tanh(t))), $"tanh {t}");
        }
    }

    private static double Ulp(float x)
    {
        float a = Math.Abs(x);
        return (double)MathF.BitIncrement(a) - a;
    }

    [TestCase(0x4000_0000_0000_0000UL, 0x3FE0_0000_0000_0000UL)]   // 1/2
    [TestCase(0x4000_0000_1234_5678UL, 0x3FE0_0000_0000_0000UL)]   // the low word is ignored
    [TestCase(0x4008_0000_0000_0000UL, 0x3FD5_5555_0000_0000UL)]   // 1/3 on 20 fraction bits
    [TestCase(0x7FF8_0000_0000_0000UL, 0x7FFF_FFFF_0000_0000UL)]   // NaN -> the ISA's canonical NaN
    [TestCase(0x0000_0000_0000_0000UL, 0x7FF0_0000_0000_0000UL)]   // +0 -> +Inf
    [TestCase(0x8000_0000_0000_0001UL, 0xFFF0_0000_0000_0000UL)]   // -subnormal -> -Inf
    [TestCase(0x000F_FFFF_0000_0000UL, 0x7FF0_0000_0000_0000UL)]   // +subnormal -> +Inf
    [TestCase(0xFFF0_0000_0000_0000UL, 0x8000_0000_0000_0000UL)]   // -Inf -> -0
    [TestCase(0x7FE0_0000_0000_0000UL, 0x0000_0000_0000_0000UL)]   // 1/2^1023 is subnormal -> +0
    public void RcpApproxFtzF64(ulong a, ulong expected) => Assert.That(Approx.RcpApproxFtzF64(a), Is.EqualTo(expected));

    [TestCase(0x4010_0000_0000_0000UL, 0x3FE0_0000_0000_0000UL)]   // 1/sqrt 4
    [TestCase(0xFFF0_0000_0000_0000UL, 0x7FFF_FFFF_0000_0000UL)]   // -Inf -> NaN
    [TestCase(0x8000_0000_0000_0001UL, 0xFFF0_0000_0000_0000UL)]   // -subnormal -> -Inf
    [TestCase(0xBFF0_0000_0000_0000UL, 0x7FFF_FFFF_0000_0000UL)]   // -1 -> NaN
    [TestCase(0x7FF0_0000_0000_0000UL, 0x0000_0000_0000_0000UL)]   // +Inf -> +0
    public void RsqrtApproxFtzF64(ulong a, ulong expected) => Assert.That(Approx.RsqrtApproxFtzF64(a), Is.EqualTo(expected));

    [Test]
    public void HalfPrecisionEx2AndTanh()
    {
        Assert.That(Approx.Ex2Half(0x3C00, bf16: false), Is.EqualTo((ushort)0x4000));   // 2^1
        Assert.That(Approx.Ex2Half(0xFC00, bf16: false), Is.EqualTo((ushort)0x0000));   // -Inf -> +0
        Assert.That(Approx.Ex2Half(0x8000, bf16: false), Is.EqualTo((ushort)0x3C00));
        Assert.That(Approx.Ex2Half(0x7E00, bf16: false), Is.EqualTo((ushort)0x7FFF));
        Assert.That(Approx.Ex2Half(0x0001, bf16: true), Is.EqualTo((ushort)0x3F80));    // .ftz: subnormal -> 2^0
        Assert.That(Approx.Ex2Half(0xFF80, bf16: true), Is.EqualTo((ushort)0x0000));
        Assert.That(Approx.Ex2Half(0x7F80, bf16: true), Is.EqualTo((ushort)0x7F80));
        Assert.That(Approx.TanhHalf(0x7C00, bf16: false), Is.EqualTo((ushort)0x3C00));
        Assert.That(Approx.TanhHalf(0xFF80, bf16: true), Is.EqualTo((ushort)0xBF80));
        Assert.That(Approx.TanhHalf(0x0001, bf16: false), Is.EqualTo((ushort)0x0001));
        Assert.That(Approx.Ex2Half2(0xFC00_3C00u, bf16: false), Is.EqualTo(0x0000_4000u));
    }

    // IEEE div/rcp/sqrt: 1/3 = 0x3EAAAAAA.AAA..., so RN and RP give ...AB and RZ and RM ...AA
    // (mirrored for -1/3); sqrt2 = 1.41421356..., between 0x3FB504F3 (1.41421353) and 0x3FB504F4.
    [TestCase(One, 0x4040_0000u, "NearestEven", 0x3EAA_AAABu)]
    [TestCase(One, 0x4040_0000u, "TowardZero", 0x3EAA_AAAAu)]
    [TestCase(One, 0x4040_0000u, "Down", 0x3EAA_AAAAu)]
    [TestCase(One, 0x4040_0000u, "Up", 0x3EAA_AAABu)]
    [TestCase(MinusOne, 0x4040_0000u, "NearestEven", 0xBEAA_AAABu)]
    [TestCase(MinusOne, 0x4040_0000u, "TowardZero", 0xBEAA_AAAAu)]
    [TestCase(MinusOne, 0x4040_0000u, "Down", 0xBEAA_AAABu)]
    [TestCase(MinusOne, 0x4040_0000u, "Up", 0xBEAA_AAAAu)]
    [TestCase(One, 0x4080_0000u, "Up", 0x3E80_0000u)]          // exact quotient: all modes agree
    [TestCase(One, 0x4080_0000u, "Down", 0x3E80_0000u)]
    [TestCase(Sub1, 0x4000_0000u, "NearestEven", PZero)]       // 2^-150: tie -> 0
    [TestCase(Sub1, 0x4000_0000u, "Up", Sub1)]
    [TestCase(0x7F7F_FFFFu, 0x3F00_0000u, "TowardZero", 0x7F7F_FFFFu)] // overflow
    [TestCase(0x7F7F_FFFFu, 0x3F00_0000u, "NearestEven", PInf)]
    [TestCase(PZero, PZero, "NearestEven", NaN)]
    [TestCase(One, NZero, "NearestEven", NInf)]
    public void DivF32(uint a, uint b, string mode, uint expected) =>
        Assert.That(Approx.DivF32(a, b, Enum.Parse<FpRounding>(mode), ftz: false), Is.EqualTo(expected));

    [TestCase(0x4000_0000u, "NearestEven", 0x3FB5_04F3u)]
    [TestCase(0x4000_0000u, "TowardZero", 0x3FB5_04F3u)]
    [TestCase(0x4000_0000u, "Down", 0x3FB5_04F3u)]
    [TestCase(0x4000_0000u, "Up", 0x3FB5_04F4u)]
    [TestCase(0x4080_0000u, "Up", 0x4000_0000u)]
    [TestCase(NZero, "NearestEven", NZero)]
    [TestCase(MinusOne, "NearestEven", NaN)]
    public void SqrtF32(uint a, string mode, uint expected) =>
        Assert.That(Approx.SqrtF32(a, Enum.Parse<FpRounding>(mode), ftz: false), Is.EqualTo(expected));

    [Test]
    public void RcpAndDivVariants()
    {
        Assert.That(Approx.RcpF32(0x4040_0000u, FpRounding.TowardZero, ftz: false), Is.EqualTo(0x3EAA_AAAAu));
        Assert.That(Approx.DivF32(Sub1, One, FpRounding.NearestEven, ftz: true), Is.EqualTo(PZero));
        Assert.That(Approx.DivFullF32(One, 0x4040_0000u, ftz: false), Is.EqualTo(0x3EAA_AAABu));
        // div.approx = a * rcp(b): for 2^126 < |b| < 2^128 the reciprocal flushes, giving ±0 or NaN.
        Assert.That(Approx.DivApproxF32(One, 0x7F00_0000u, ftz: false), Is.EqualTo(PZero));
        Assert.That(Approx.DivApproxF32(MinusOne, 0x7F00_0000u, ftz: false), Is.EqualTo(NZero));
        Assert.That(Approx.DivApproxF32(PInf, 0x7F00_0000u, ftz: false), Is.EqualTo(NaN));
        Assert.That(Approx.DivApproxF32(0x4040_0000u, 0x4080_0000u, ftz: false), Is.EqualTo(0x3F40_0000u)); // 3/4
    }

    [Test]
    public void F64DivAndSqrtInAllDirections()
    {
        // 1/3's nearest double 0x3FD5555555555555 lies below 1/3; sqrt2's 0x3FF6A09E667F3BCD above.
        Assert.That(Approx.DivF64(0x3FF0_0000_0000_0000, 0x4008_0000_0000_0000, FpRounding.NearestEven), Is.EqualTo(0x3FD5_5555_5555_5555UL));
        Assert.That(Approx.DivF64(0x3FF0_0000_0000_0000, 0x4008_0000_0000_0000, FpRounding.TowardZero), Is.EqualTo(0x3FD5_5555_5555_5555UL));
        Assert.That(Approx.DivF64(0x3FF0_0000_0000_0000, 0x4008_0000_0000_0000, FpRounding.Up), Is.EqualTo(0x3FD5_5555_5555_5556UL));
        Assert.That(Approx.DivF64(0xBFF0_0000_0000_0000, 0x4008_0000_0000_0000, FpRounding.Down), Is.EqualTo(0xBFD5_5555_5555_5556UL));
        Assert.That(Approx.SqrtF64(0x4000_0000_0000_0000, FpRounding.NearestEven), Is.EqualTo(0x3FF6_A09E_667F_3BCDUL));
        Assert.That(Approx.SqrtF64(0x4000_0000_0000_0000, FpRounding.TowardZero), Is.EqualTo(0x3FF6_A09E_667F_3BCCUL));
        Assert.That(Approx.SqrtF64(0x4000_0000_0000_0000, FpRounding.Up), Is.EqualTo(0x3FF6_A09E_667F_3BCDUL));
        Assert.That(Approx.DivF64(0x7FEF_FFFF_FFFF_FFFF, 0x3FE0_0000_0000_0000, FpRounding.TowardZero), Is.EqualTo(0x7FEF_FFFF_FFFF_FFFFUL));
        Assert.That(Approx.DivF64(0x7FEF_FFFF_FFFF_FFFF, 0x3FE0_0000_0000_0000, FpRounding.Up), Is.EqualTo(0x7FF0_0000_0000_0000UL));
    }
}
