// All 65,536 codes of bf16 and of f16, both ways. bf16: BFloat16.ToSingle is the upper half of a
// binary32 and MiniFloat.BF16.Decode is ReferenceFormat's formula, bit for bit; FromSingle and
// FromDouble give every non-NaN code back; a NaN stays a quiet NaN with its sign. f16: decoding
// agrees with the formula and with System.Half, and encoding gives every non-NaN code back.
using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Numerics;

public class WideCodeTests
{
    [Test]
    public void AllBf16CodesBothWays()
    {
        var f = ReferenceFormat.BF16;
        int nans = 0;
        for (uint c = 0; c < 65536; c++)
        {
            string what = $"bf16 0x{c:X4}";
            double want = f.Decode(c);
            var b = new BFloat16((ushort)c);
            float single = b.ToSingle();
            Assert.That(BitConverter.SingleToUInt32Bits(single), Is.EqualTo(c << 16), what + " ToSingle");
            Fp8CodeTests.AssertSameValue(single, want, what + " ToSingle vs formula");
            Fp8CodeTests.AssertSameValue(MiniFloat.BF16.Decode(c), want, what + " MiniFloat.Decode");
            Assert.That(MiniFloat.BF16.IsNaN(c), Is.EqualTo(f.IsNaNCode(c)), what + " IsNaN");
            if (double.IsNaN(want))
            {
                nans++;
                // Quiet (bit 6 set), the sign and the upper payload kept: the float's own bits.
                uint quiet = c | 0x0040;
                Assert.That(BFloat16.FromSingle(single).Bits, Is.EqualTo(quiet), what + " FromSingle(NaN)");
                Assert.That(BFloat16.FromDouble(single).Bits, Is.EqualTo(quiet), what + " FromDouble(NaN)");
                Assert.That(MiniFloat.BF16.Encode(want, saturate: false), Is.EqualTo(0x7FC0u), what + " MiniFloat.Encode(NaN)");
                continue;
            }
            Assert.That(BFloat16.FromSingle(single).Bits, Is.EqualTo(c), what + " FromSingle");
            Assert.That(BFloat16.FromDouble(want).Bits, Is.EqualTo(c), what + " FromDouble");
            Assert.That(MiniFloat.BF16.Encode(want, saturate: false), Is.EqualTo(c), what + " MiniFloat.Encode");
        }
        Assert.That(nans, Is.EqualTo(2 * 127));
    }

    [Test]
    public void AllF16CodesBothWays()
    {
        var f = ReferenceFormat.F16;
        int nans = 0;
        for (uint c = 0; c < 65536; c++)
        {
            string what = $"f16 0x{c:X4}";
            double want = f.Decode(c);
            double bcl = (double)BitConverter.UInt16BitsToHalf((ushort)c);
            Fp8CodeTests.AssertSameValue(MiniFloat.F16.Decode(c), want, what + " MiniFloat.Decode");
            Assert.That(double.IsNaN(bcl) ? double.IsNaN(want) : BitConverter.DoubleToInt64Bits(bcl) == BitConverter.DoubleToInt64Bits(want),
                Is.True, what + " System.Half vs formula");
            if (double.IsNaN(want))
            {
                nans++;
                Assert.That(MiniFloat.F16.Encode(want, saturate: false), Is.EqualTo(0x7E00u), what);
                continue;
            }
            Assert.That(MiniFloat.F16.Encode(want, saturate: false), Is.EqualTo(c), what + " MiniFloat.Encode");
            Assert.That((uint)BitConverter.HalfToUInt16Bits((Half)want), Is.EqualTo(c), what + " (Half)double");
        }
        Assert.That(nans, Is.EqualTo(2 * 1023));
    }

    [Test]
    public void Bf16NaNInputsStayQuietNaNs()
    {
        // A signalling binary32 NaN whose payload lies only in the dropped half still gives a NaN.
        Assert.That(BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(0x7F80_0001)).Bits, Is.EqualTo(0x7FC0));
        Assert.That(BFloat16.FromSingle(BitConverter.UInt32BitsToSingle(0xFF80_0001)).Bits, Is.EqualTo(0xFFC0));
        Assert.That(BFloat16.FromDouble(BitConverter.Int64BitsToDouble(0x7FF0_0000_0000_0001)).Bits & 0x7FC0, Is.EqualTo(0x7FC0));
        Assert.That(BFloat16.FromSingle(float.PositiveInfinity).Bits, Is.EqualTo(0x7F80));
        Assert.That(BFloat16.FromSingle(float.MaxValue).Bits, Is.EqualTo(0x7F80), "rounds up to infinity");
        Assert.That(BFloat16.FromSingle(-float.MaxValue).Bits, Is.EqualTo(0xFF80));
        Assert.That(BFloat16.FromDouble(1e300).Bits, Is.EqualTo(0x7F80));
        // 1 + 2^-8 + 2^-40: nearest bf16 is 1 + 2^-7; through binary32 it would first become the
        // tie 1 + 2^-8 and then round to even 1.0.
        Assert.That(BFloat16.FromDouble(1 + Math.Pow(2, -8) + Math.Pow(2, -40)).Bits, Is.EqualTo(0x3F81));
        Assert.That(BFloat16.FromSingle((float)(1 + Math.Pow(2, -8) + Math.Pow(2, -40))).Bits, Is.EqualTo(0x3F80));
    }
}
