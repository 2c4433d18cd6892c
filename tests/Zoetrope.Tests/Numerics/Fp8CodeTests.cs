// All 256 codes of FP8 E4M3 and E5M2, both ways: decoding (MiniFloat, the Float8 wrappers, the
// kernels' decoder) against ReferenceFormat's formula, bit for bit (so -0 is -0 and a NaN keeps
// its sign); encode(decode(c)) == c for every non-NaN code in both overflow modes (infinities
// saturate to +-max); NaN codes re-encode to the canonical 0x7F. Then the spec's named values and
// the NaN/Inf/overflow rules, input by input.
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Tests.Numerics;

public class Fp8CodeTests
{
    /// <summary>Same double: bit for bit, except that any two NaNs of the same sign agree.</summary>
    internal static void AssertSameValue(double got, double want, string what)
    {
        if (double.IsNaN(want))
        {
            Assert.That(double.IsNaN(got) && double.IsNegative(got) == double.IsNegative(want), Is.True,
                $"{what}: {got:R} should be a NaN with the sign bit {(double.IsNegative(want) ? 1 : 0)}");
            return;
        }
        Assert.That(BitConverter.DoubleToInt64Bits(got), Is.EqualTo(BitConverter.DoubleToInt64Bits(want)), $"{what}: {got:R}, want {want:R}");
    }

    private static void AllCodesBothWays(
        ReferenceFormat f, MiniFloat mini, Func<byte, double> wrapperDecode, Func<byte, bool> wrapperIsNaN,
        Func<double, bool, byte> wrapperEncode, int nanCodes, int infCodes)
    {
        int nans = 0, infs = 0, finite = 0;
        for (uint c = 0; c < 256; c++)
        {
            string what = $"{f} 0x{c:X2}";
            double want = f.Decode(c);
            AssertSameValue(mini.Decode(c), want, what + " MiniFloat.Decode");
            AssertSameValue(wrapperDecode((byte)c), want, what + " ToSingle");
            Assert.That(mini.IsNaN(c), Is.EqualTo(f.IsNaNCode(c)), what + " MiniFloat.IsNaN");
            Assert.That(wrapperIsNaN((byte)c), Is.EqualTo(f.IsNaNCode(c)), what + " IsNaN");
            foreach (bool saturate in new[] { false, true })
            {
                uint expected = double.IsNaN(want) ? 0x7Fu
                    : double.IsInfinity(want) && saturate ? (c & 0x80) | f.MaxCode
                    : c;
                Assert.That(mini.Encode(want, saturate), Is.EqualTo(expected), $"{what} MiniFloat.Encode(decode) sat={saturate}");
                Assert.That(wrapperEncode(wrapperDecode((byte)c), saturate), Is.EqualTo(expected), $"{what} FromDouble(ToSingle) sat={saturate}");
            }
            if (double.IsNaN(want))
            {
                nans++;
            }
            else if (double.IsInfinity(want))
            {
                infs++;
            }
            else
            {
                finite++;
            }
        }
        Assert.That((nans, infs, finite), Is.EqualTo((nanCodes, infCodes, 256 - nanCodes - infCodes)));
    }

    [Test]
    public void AllE4M3CodesBothWays() => AllCodesBothWays(
        ReferenceFormat.E4M3, MiniFloat.E4M3, c => new Float8E4M3(c).ToSingle(), c => new Float8E4M3(c).IsNaN,
        (x, sat) => Float8E4M3.FromDouble(x, sat).Bits, nanCodes: 2, infCodes: 0);

    [Test]
    public void AllE5M2CodesBothWays() => AllCodesBothWays(
        ReferenceFormat.E5M2, MiniFloat.E5M2, c => new Float8E5M2(c).ToSingle(), c => new Float8E5M2(c).IsNaN,
        (x, sat) => Float8E5M2.FromDouble(x, sat).Bits, nanCodes: 6, infCodes: 2);

    [Test]
    public void KernelE4M3DecoderAgreesOnEveryCode()
    {
        for (uint c = 0; c < 256; c++)
        {
            double want = ReferenceFormat.E4M3.Decode(c);
            float got = Fp8Math.DecodeE4M3((byte)c);
            if (double.IsNaN(want))
            {
                Assert.That(float.IsNaN(got), Is.True, $"0x{c:X2}");
                continue;
            }
            Assert.That(BitConverter.DoubleToInt64Bits(got), Is.EqualTo(BitConverter.DoubleToInt64Bits(want)), $"0x{c:X2}");
        }
    }

    [Test]
    public void FormatParametersMatchTheSpec()
    {
        foreach (var (mini, f) in new[] { (MiniFloat.E4M3, ReferenceFormat.E4M3), (MiniFloat.E5M2, ReferenceFormat.E5M2), (MiniFloat.BF16, ReferenceFormat.BF16), (MiniFloat.F16, ReferenceFormat.F16) })
        {
            Assert.That((mini.ExponentBits, mini.MantissaBits, mini.Bias, mini.HasInfinity, mini.CanonicalNaN),
                Is.EqualTo((f.ExponentBits, f.MantissaBits, f.Bias, f.HasInfinity, f.CanonicalNaN)), f.Name);
            Assert.That(mini.MaxFinite, Is.EqualTo(f.Max), f.Name);
            Assert.That(mini.MinNormalExponent, Is.EqualTo(1 - f.Bias), f.Name);
        }
        Assert.That(Float8E4M3.MaxValue, Is.EqualTo(448f));
        Assert.That(Float8E5M2.MaxValue, Is.EqualTo(57344f));
        Assert.That(ReferenceFormat.E4M3.Max, Is.EqualTo(448.0));
        Assert.That(ReferenceFormat.E5M2.Max, Is.EqualTo(57344.0));
    }

    [TestCase(0x7Eu, 448.0)]
    [TestCase(0x38u, 1.0)]
    [TestCase(0x08u, 0.015625)]                 // 2^-6, smallest normal
    [TestCase(0x07u, 0.013671875)]              // 7 * 2^-9, largest subnormal
    [TestCase(0x01u, 0.001953125)]              // 2^-9, smallest subnormal
    [TestCase(0xFEu, -448.0)]
    [TestCase(0x80u, -0.0)]
    public void NamedE4M3Codes(uint code, double value)
    {
        AssertSameValue(new Float8E4M3((byte)code).ToSingle(), value, $"0x{code:X2}");
        Assert.That(Float8E4M3.FromDouble(value).Bits, Is.EqualTo(code));
    }

    [TestCase(0x7Bu, 57344.0)]
    [TestCase(0x3Cu, 1.0)]
    [TestCase(0x04u, 6.103515625e-05)]          // 2^-14, smallest normal
    [TestCase(0x01u, 1.52587890625e-05)]        // 2^-16, smallest subnormal
    [TestCase(0x7Cu, double.PositiveInfinity)]
    [TestCase(0xFCu, double.NegativeInfinity)]
    [TestCase(0x80u, -0.0)]
    public void NamedE5M2Codes(uint code, double value)
    {
        AssertSameValue(new Float8E5M2((byte)code).ToSingle(), value, $"0x{code:X2}");
        Assert.That(Float8E5M2.FromDouble(value).Bits, Is.EqualTo(code));
    }

    private static readonly double[] NaNs =
    [
        double.NaN, -double.NaN, BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_0000),
        BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001), BitConverter.Int64BitsToDouble(unchecked((long)0xFFFF_FFFF_FFFF_FFFFUL)),
        float.NaN, BitConverter.UInt32BitsToSingle(0xFFC0_0001),
    ];

    [Test]
    public void NaNInputGivesTheCanonicalNaNInBothModes()
    {
        foreach (double nan in NaNs)
        {
            foreach (bool saturate in new[] { false, true })
            {
                Assert.That(Float8E4M3.FromDouble(nan, saturate).Bits, Is.EqualTo(0x7F), $"e4m3 sat={saturate}");
                Assert.That(Float8E5M2.FromDouble(nan, saturate).Bits, Is.EqualTo(0x7F), $"e5m2 sat={saturate}");
            }
        }
    }

    [TestCase(double.PositiveInfinity, 0x7Eu, 0x7Fu)]
    [TestCase(double.NegativeInfinity, 0xFEu, 0xFFu)]
    [TestCase(1e9, 0x7Eu, 0x7Fu)]
    [TestCase(-500.0, 0xFEu, 0xFFu)]             // non-saturating: NaN with the sign kept, as __NV_NOSAT
    [TestCase(464.0, 0x7Eu, 0x7Eu)]              // the midpoint 448 | 480: ties to the even 448
    [TestCase(-464.0, 0xFEu, 0xFEu)]
    [TestCase(464.00000000000006, 0x7Eu, 0x7Fu)] // just above the midpoint overflows
    [TestCase(447.0, 0x7Eu, 0x7Eu)]
    [TestCase(1.0625, 0x38u, 0x38u)]             // 1 + 1/16 ties to even 1.0
    [TestCase(1.1875, 0x3Au, 0x3Au)]             // 1 + 3/16 ties to even 1.25
    [TestCase(0.0009765625, 0x00u, 0x00u)]       // 2^-10, half the smallest subnormal: ties to 0
    [TestCase(-0.0009765625, 0x80u, 0x80u)]      // ... keeping the sign
    [TestCase(0.0009765626, 0x01u, 0x01u)]
    [TestCase(0.0029296875, 0x02u, 0x02u)]       // 1.5 * 2^-9 ties to even 2 * 2^-9
    [TestCase(-1e-30, 0x80u, 0x80u)]
    [TestCase(0.0, 0x00u, 0x00u)]
    [TestCase(-0.0, 0x80u, 0x80u)]
    public void E4M3Rules(double x, uint saturating, uint nonSaturating)
    {
        Assert.That(Float8E4M3.FromDouble(x).Bits, Is.EqualTo(saturating), "satfinite (default)");
        Assert.That(Float8E4M3.FromDouble(x, saturate: false).Bits, Is.EqualTo(nonSaturating), "non-saturating");
        Assert.That(ReferenceFormat.E4M3.Encode(x, saturate: true), Is.EqualTo(saturating), "oracle satfinite");
        Assert.That(ReferenceFormat.E4M3.Encode(x, saturate: false), Is.EqualTo(nonSaturating), "oracle non-saturating");
    }

    [TestCase(double.PositiveInfinity, 0x7Bu, 0x7Cu)]
    [TestCase(double.NegativeInfinity, 0xFBu, 0xFCu)]
    [TestCase(61440.0, 0x7Bu, 0x7Cu)]            // 57344 | 65536 midpoint: ties to the even exponent, overflow
    [TestCase(61439.99999999999, 0x7Bu, 0x7Bu)]
    [TestCase(-1e9, 0xFBu, 0xFCu)]
    [TestCase(57344.0, 0x7Bu, 0x7Bu)]
    [TestCase(1.125, 0x3Cu, 0x3Cu)]              // 1 + 1/8 ties to even 1.0
    [TestCase(1.375, 0x3Eu, 0x3Eu)]              // 1 + 3/8 ties to even 1.5
    [TestCase(7.62939453125e-06, 0x00u, 0x00u)]  // 2^-17 ties to 0
    [TestCase(-7.62939453125e-06, 0x80u, 0x80u)]
    public void E5M2Rules(double x, uint saturating, uint nonSaturating)
    {
        Assert.That(Float8E5M2.FromDouble(x, saturate: true).Bits, Is.EqualTo(saturating), "satfinite");
        Assert.That(Float8E5M2.FromDouble(x).Bits, Is.EqualTo(nonSaturating), "non-saturating (default)");
        Assert.That(ReferenceFormat.E5M2.Encode(x, saturate: true), Is.EqualTo(saturating), "oracle satfinite");
        Assert.That(ReferenceFormat.E5M2.Encode(x, saturate: false), Is.EqualTo(nonSaturating), "oracle non-saturating");
    }
}
