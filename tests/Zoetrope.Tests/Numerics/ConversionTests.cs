using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Numerics;

/// <summary>
/// The narrow-float conversions, bit for bit: all 256 codes of each FP8 format both ways, all
/// 65,536 bf16 codes, and a million-value float32 sweep per format (plus every tie, its two
/// neighbours, and the overflow edges) against <see cref="NearestOracle"/>; f16 also against
/// System.Half.
/// </summary>
public class ConversionTests
{
    private static readonly NearestOracle E4M3 = new(4, 3, hasInfinity: false, nan: 0x7F);
    private static readonly NearestOracle E5M2 = new(5, 2, hasInfinity: true, nan: 0x7F);
    private static readonly NearestOracle Bf16 = new(8, 7, hasInfinity: true, nan: 0x7FC0);
    private static readonly NearestOracle F16 = new(5, 10, hasInfinity: true, nan: 0x7E00);

    private static double DecodeByFormula(uint code, int e, int m, bool ieee)
    {
        int bias = (1 << (e - 1)) - 1;
        double sign = (code >> (e + m)) != 0 ? -1 : 1;
        int exp = (int)((code >> m) & ((1u << e) - 1));
        int man = (int)(code & ((1u << m) - 1));
        if (ieee && exp == (1 << e) - 1)
        {
            return man == 0 ? sign * double.PositiveInfinity : double.NaN;
        }
        if (!ieee && exp == (1 << e) - 1 && man == (1 << m) - 1)
        {
            return double.NaN;
        }
        return exp == 0
            ? sign * Math.Pow(2, 1 - bias) * man / (1 << m)
            : sign * Math.Pow(2, exp - bias) * (1 + (man / (double)(1 << m)));
    }

    [Test]
    public void AllE4M3CodesBothWays()
    {
        int nans = 0;
        for (uint c = 0; c < 256; c++)
        {
            double expected = DecodeByFormula(c, 4, 3, ieee: false);
            double got = new Float8E4M3((byte)c).ToSingle();
            if (double.IsNaN(expected))
            {
                nans++;
                Assert.That(double.IsNaN(got), Is.True, $"0x{c:X2}");
                Assert.That(Float8E4M3.FromDouble(got).Bits, Is.EqualTo(0x7F));
                continue;
            }
            Assert.That(got, Is.EqualTo(expected), $"0x{c:X2}");
            Assert.That(Float8E4M3.FromDouble(got).Bits, Is.EqualTo(c), $"0x{c:X2} round trip");
            Assert.That(Float8E4M3.FromDouble(got, saturate: false).Bits, Is.EqualTo(c));
        }
        Assert.That(nans, Is.EqualTo(2));
        Assert.That(new Float8E4M3(0x7E).ToSingle(), Is.EqualTo(448f));
        Assert.That(new Float8E4M3(0x01).ToSingle(), Is.EqualTo(MathF.Pow(2, -9)));
    }

    [Test]
    public void AllE5M2CodesBothWays()
    {
        for (uint c = 0; c < 256; c++)
        {
            double expected = DecodeByFormula(c, 5, 2, ieee: true);
            double got = new Float8E5M2((byte)c).ToSingle();
            if (double.IsNaN(expected))
            {
                Assert.That(double.IsNaN(got) && new Float8E5M2((byte)c).IsNaN, Is.True, $"0x{c:X2}");
                Assert.That(Float8E5M2.FromDouble(got).Bits, Is.EqualTo(0x7F));
                continue;
            }
            Assert.That(got, Is.EqualTo(expected), $"0x{c:X2}");
            Assert.That(Float8E5M2.FromDouble(got).Bits, Is.EqualTo(c), $"0x{c:X2} round trip");
        }
        Assert.That(new Float8E5M2(0x7B).ToSingle(), Is.EqualTo(57344f));
        Assert.That(new Float8E5M2(0x7C).ToSingle(), Is.EqualTo(float.PositiveInfinity));
    }

    [Test]
    public void AllBf16CodesBothWays()
    {
        for (uint c = 0; c < 65536; c++)
        {
            float viaBits = BitConverter.UInt32BitsToSingle(c << 16);
            var b = new BFloat16((ushort)c);
            float got = b.ToSingle();
            Assert.That(BitConverter.SingleToUInt32Bits(got), Is.EqualTo(c << 16));
            Assert.That(MiniFloat.BF16.Decode(c), Is.EqualTo((double)viaBits).Or.NaN);
            if (float.IsNaN(viaBits))
            {
                Assert.That(float.IsNaN(BFloat16.FromSingle(viaBits).ToSingle()), Is.True);
                continue;
            }
            Assert.That(BFloat16.FromSingle(viaBits).Bits, Is.EqualTo(c));
            Assert.That(BFloat16.FromDouble(viaBits).Bits, Is.EqualTo(c));
        }
    }

    private static IEnumerable<float> Sweep(NearestOracle f, int seed)
    {
        var rng = new Random(seed);
        int bias = (1 << (f.ExponentBits - 1)) - 1;
        int lo = Math.Max(-126, 1 - bias - f.MantissaBits - 3);
        int hi = Math.Min(127, bias + 3);
        for (int i = 0; i < 1 << 20; i++)
        {
            int e = rng.Next(lo, hi + 1);
            uint bits = ((uint)(e + 127) << 23) | (uint)rng.Next(1 << 23) | (rng.Next(2) == 0 ? 0 : 0x8000_0000u);
            yield return BitConverter.UInt32BitsToSingle(bits);
        }
        // Every tie between neighbours (and between 0 and the smallest subnormal), its two float32
        // neighbours, the overflow midpoint and the specials.
        var values = f.Values;
        for (int i = 0; i + 1 < values.Count; i++)
        {
            float mid = (float)((values[i] + values[i + 1]) / 2);
            yield return mid;
            yield return MathF.BitIncrement(mid);
            yield return MathF.BitDecrement(mid);
            yield return -mid;
        }
        double top = f.Max + ((f.Max - values[^2]) / 2);
        foreach (var v in new[] { (float)top, MathF.BitIncrement((float)top), MathF.BitDecrement((float)top), (float)f.Max, 0f, -0f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, float.MaxValue, float.Epsilon })
        {
            yield return v;
        }
    }

    private static void Sweep(NearestOracle oracle, Func<float, uint> encode, bool saturate, string what)
    {
        int n = 0;
        foreach (var x in Sweep(oracle, seed: what.GetHashCode(StringComparison.Ordinal) & 0xFFFF))
        {
            uint expected = oracle.Encode(x, saturate);
            uint got = encode(x);
            if (got != expected)
            {
                Assert.Fail($"{what}: {x:R} (0x{BitConverter.SingleToUInt32Bits(x):X8}) encoded to 0x{got:X}, the nearest-value oracle says 0x{expected:X}");
            }
            n++;
        }
        TestContext.Out.WriteLine($"{what}: {n} float32 values agree with the oracle");
        Assert.That(n, Is.GreaterThan(1 << 20));
    }

    [Test]
    public void E4M3SaturatingSweep() => Sweep(E4M3, x => Float8E4M3.FromDouble(x).Bits, saturate: true, "e4m3 satfinite");

    [Test]
    public void E4M3NonSaturatingSweep() => Sweep(E4M3, x => Float8E4M3.FromDouble(x, saturate: false).Bits, saturate: false, "e4m3");

    [Test]
    public void E5M2Sweep() => Sweep(E5M2, x => Float8E5M2.FromDouble(x).Bits, saturate: false, "e5m2");

    [Test]
    public void E5M2SaturatingSweep() => Sweep(E5M2, x => Float8E5M2.FromDouble(x, saturate: true).Bits, saturate: true, "e5m2 satfinite");

    [Test]
    public void Bf16Sweep()
    {
        Sweep(Bf16, x => float.IsNaN(x) ? 0x7FC0u : BFloat16.FromSingle(x).Bits, saturate: false, "bf16 from f32");
        Sweep(Bf16, x => float.IsNaN(x) ? 0x7FC0u : BFloat16.FromDouble(x).Bits, saturate: false, "bf16 from f64");
    }

    [Test]
    public void F16SweepAgreesWithTheOracleAndSystemHalf()
    {
        Sweep(F16, x => MiniFloat.F16.Encode(x, saturate: false), saturate: false, "f16");
        foreach (var x in Sweep(F16, seed: 99))
        {
            uint mine = MiniFloat.F16.Encode(x, saturate: false);
            ushort bcl = BitConverter.HalfToUInt16Bits((Half)x);
            if (float.IsNaN(x))
            {
                Assert.That(Half.IsNaN(BitConverter.UInt16BitsToHalf((ushort)mine)), Is.True);
                continue;
            }
            if (mine != bcl)
            {
                Assert.Fail($"{x:R}: MiniFloat 0x{mine:X4}, System.Half 0x{bcl:X4}");
            }
        }
    }

    [Test]
    public void RoundingExamplesFromTheSpecs()
    {
        Assert.That(Float8E4M3.FromDouble(464).ToSingle(), Is.EqualTo(448f), "tie at the overflow edge goes to the even 448");
        Assert.That(Float8E4M3.FromDouble(1e9).ToSingle(), Is.EqualTo(448f));
        Assert.That(Float8E4M3.FromDouble(double.NegativeInfinity).ToSingle(), Is.EqualTo(-448f));
        Assert.That(Float8E4M3.FromDouble(500, saturate: false).IsNaN, Is.True);
        Assert.That(Float8E5M2.FromDouble(61440).ToSingle(), Is.EqualTo(float.PositiveInfinity), "tie above 57344 goes to the even exponent: infinity");
        Assert.That(Float8E4M3.FromDouble(1.0625).ToSingle(), Is.EqualTo(1f), "1 + 1/16 ties to even 1.0");
        Assert.That(Float8E4M3.FromDouble(1.1875).ToSingle(), Is.EqualTo(1.25f), "1 + 3/16 ties to even 1.25");
        Assert.That(Float8E4M3.FromDouble(Math.Pow(2, -10)).Bits, Is.EqualTo(0), "half the smallest subnormal ties to 0");
        Assert.That(Float8E4M3.FromDouble(-0.0).Bits, Is.EqualTo(0x80));
    }

    [Test]
    public void KernelE4M3EncoderAgreesWithTheOracleAndDecodesEveryCode()
    {
        Sweep(E4M3, x => Zoetrope.Runtime.KernelMath.Fp8Math.EncodeE4M3(x), saturate: true, "kernel e4m3");
        for (int c = 0; c < 256; c++)
        {
            float kernel = Zoetrope.Runtime.KernelMath.Fp8Math.DecodeE4M3((byte)c);
            float host = new Float8E4M3((byte)c).ToSingle();
            Assert.That(float.IsNaN(kernel) ? float.NaN : kernel, Is.EqualTo(host).Or.NaN, $"0x{c:X2}");
        }
    }
}
