// ElementConvert, per dtype: every code of every 1- and 2-byte type (and a sample of the 4- and
// 8-byte ones) reads as its exact value and writes back to the same bytes (a NaN to its
// documented NaN); integer writes against an independent round-half-even-then-clamp oracle over
// a dense grid of halves and quarters and the int32 edges; element placement in a run.
// (Narrow-float writes of arbitrary values are swept against the oracle in NarrowFloatSweepTests.)
using NUnit.Framework;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Numerics;

public class ElementConvertTests
{
    private static double RoundTrip(DType t, double v)
    {
        var b = new byte[t.Size()];
        ElementConvert.Write(t, b, 0, v);
        return ElementConvert.Read(t, b, 0);
    }

    [TestCase(DType.F16, 0x7E00u)]
    [TestCase(DType.BF16, 0x7FC0u)]
    [TestCase(DType.F8E4M3, 0x7Fu)]
    [TestCase(DType.F8E5M2, 0x7Fu)]
    public void EveryNarrowFloatCodeReadsExactlyAndWritesBack(DType dtype, uint nan)
    {
        var f = dtype switch
        {
            DType.F16 => ReferenceFormat.F16,
            DType.BF16 => ReferenceFormat.BF16,
            DType.F8E4M3 => ReferenceFormat.E4M3,
            _ => ReferenceFormat.E5M2,
        };
        int size = dtype.Size();
        var src = new byte[f.CodeCount * size];
        for (int c = 0; c < f.CodeCount; c++)
        {
            src[c * size] = (byte)c;
            if (size == 2)
            {
                src[(c * size) + 1] = (byte)(c >> 8);
            }
        }
        var values = new double[f.CodeCount];
        ElementConvert.ToDoubles(dtype, src, values);
        var back = new byte[src.Length];
        ElementConvert.FromDoubles(dtype, values, back);
        for (uint c = 0; c < f.CodeCount; c++)
        {
            string what = $"{dtype} 0x{c:X}";
            Fp8CodeTests.AssertSameValue(values[c], f.Decode(c), what + " read");
            uint written = size == 1 ? back[c] : (uint)(back[c * 2] | (back[(c * 2) + 1] << 8));
            // bf16 keeps a NaN's sign (through binary32); the others write their canonical NaN.
            uint want = !f.IsNaNCode(c) ? c : dtype == DType.BF16 ? (c & f.SignBit) | nan : nan;
            Assert.That(written, Is.EqualTo(want), what + " written back");
        }
    }

    [Test]
    public void EveryI8AndU8CodeRoundTrips()
    {
        for (int c = 0; c < 256; c++)
        {
            byte[] b = [(byte)c];
            Assert.That(ElementConvert.Read(DType.I8, b, 0), Is.EqualTo((double)(sbyte)c));
            Assert.That(ElementConvert.Read(DType.U8, b, 0), Is.EqualTo((double)c));
            Assert.That(RoundTrip(DType.I8, (sbyte)c), Is.EqualTo((double)(sbyte)c));
            Assert.That(RoundTrip(DType.U8, c), Is.EqualTo((double)c));
        }
    }

    [Test]
    public void WideTypesRoundTripBitForBit()
    {
        var rng = new Random(1234);
        var b4 = new byte[4];
        var b8 = new byte[8];
        var ints = new List<int> { 0, 1, -1, int.MaxValue, int.MinValue, int.MaxValue - 1, int.MinValue + 1 };
        var singles = new List<uint> { 0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x0000_0001, 0x7F7F_FFFF, 0x0080_0000, 0x007F_FFFF };
        var doubles = new List<long> { 0, long.MinValue, 0x7FF0_0000_0000_0000, 1, 0x7FEF_FFFF_FFFF_FFFF, 0x7FF8_0000_0000_0001 };
        for (int i = 0; i < 1 << 16; i++)
        {
            ints.Add(rng.Next(int.MinValue, int.MaxValue));
            singles.Add((uint)rng.NextInt64(1L << 32));
            doubles.Add(rng.NextInt64(long.MinValue, long.MaxValue));
        }
        foreach (int v in ints)
        {
            ElementConvert.Write(DType.I32, b4, 0, v);
            Assert.That(BitConverter.ToInt32(b4), Is.EqualTo(v));
            Assert.That(ElementConvert.Read(DType.I32, b4, 0), Is.EqualTo((double)v));
        }
        foreach (uint bits in singles)
        {
            BitConverter.TryWriteBytes(b4, bits);
            double read = ElementConvert.Read(DType.F32, b4, 0);
            ElementConvert.Write(DType.F32, b4, 0, read);
            float x = BitConverter.UInt32BitsToSingle(bits);
            if (float.IsNaN(x))
            {
                Assert.That(double.IsNaN(read) && float.IsNaN(BitConverter.ToSingle(b4)), Is.True, $"0x{bits:X8}");
                continue;
            }
            Assert.That(BitConverter.DoubleToInt64Bits(read), Is.EqualTo(BitConverter.DoubleToInt64Bits(x)), $"0x{bits:X8} read");
            Assert.That(BitConverter.ToUInt32(b4), Is.EqualTo(bits), $"0x{bits:X8} written back");
        }
        foreach (long bits in doubles)
        {
            BitConverter.TryWriteBytes(b8, bits);
            double read = ElementConvert.Read(DType.F64, b8, 0);
            ElementConvert.Write(DType.F64, b8, 0, read);
            Assert.That(BitConverter.ToInt64(b8), Is.EqualTo(bits), $"0x{bits:X16}");
        }
    }

    [Test]
    public void F32WritesRoundToNearestEven()
    {
        double ulpHalf = Math.Pow(2, -24);
        Assert.That(RoundTrip(DType.F32, 1 + ulpHalf), Is.EqualTo(1.0), "tie to even 1.0");
        Assert.That(RoundTrip(DType.F32, 1 + (3 * ulpHalf)), Is.EqualTo(1 + (4 * ulpHalf)), "tie to even 1 + 2^-22");
        Assert.That(RoundTrip(DType.F32, 1 + ulpHalf + 1e-12), Is.EqualTo(1 + (2 * ulpHalf)), "above the tie");
        Assert.That(RoundTrip(DType.F32, 1e39), Is.EqualTo(double.PositiveInfinity));
        Assert.That(RoundTrip(DType.F32, 0.1), Is.EqualTo((double)0.1f));
    }

    // Round half to even, then clamp; NaN is 0. Written from the definition: take the floor, look
    // at the exact fraction (|v| < 2^52 here, so v - floor(v) is exact), break ties on parity.
    private static double IntegerOracle(double v, double min, double max)
    {
        if (double.IsNaN(v))
        {
            return 0;
        }
        if (v >= max)
        {
            return max;
        }
        if (v <= min)
        {
            return min;
        }
        double fl = Math.Floor(v);
        double frac = v - fl;
        bool flIsEven = Math.Floor(fl / 2) * 2 == fl;
        double r = frac < 0.5 ? fl : frac > 0.5 ? fl + 1 : flIsEven ? fl : fl + 1;
        return Math.Clamp(r, min, max);
    }

    [TestCase(DType.I8, -128.0, 127.0)]
    [TestCase(DType.U8, 0.0, 255.0)]
    [TestCase(DType.I32, -2147483648.0, 2147483647.0)]
    public void IntegersRoundHalfToEvenAndSaturate(DType dtype, double min, double max)
    {
        var inputs = new List<double> { double.NaN, -double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 1e300, -1e300, double.Epsilon, -double.Epsilon };
        // Every quarter from 8 below the range to 8 above it (I32: near its ends and near 0), and
        // the doubles next to every half.
        var centres = dtype == DType.I32 ? new[] { min, 0.0, max } : new[] { (min + max) / 2 };
        double radius = dtype == DType.I32 ? 64 : ((max - min) / 2) + 8;
        foreach (double centre in centres)
        {
            for (double v = Math.Floor(centre - radius); v <= centre + radius; v += 0.25)
            {
                inputs.Add(v);
                if (v - Math.Floor(v) == 0.5)
                {
                    inputs.Add(Math.BitIncrement(v));
                    inputs.Add(Math.BitDecrement(v));
                }
            }
        }
        var rng = new Random(77);
        for (int i = 0; i < 1 << 14; i++)
        {
            inputs.Add((rng.NextDouble() - 0.5) * 3 * (max - min));
        }
        var b = new byte[dtype.Size()];
        foreach (double v in inputs)
        {
            ElementConvert.Write(dtype, b, 0, v);
            double got = ElementConvert.Read(dtype, b, 0);
            Assert.That(got, Is.EqualTo(IntegerOracle(v, min, max)), $"{dtype}: {v:R}");
            Assert.That(ElementConvert.RoundSaturate(v, min, max), Is.EqualTo(IntegerOracle(v, min, max)), $"RoundSaturate {v:R}");
        }
    }

    [TestCase(DType.I8, 2.5, 2.0)]
    [TestCase(DType.I8, 3.5, 4.0)]
    [TestCase(DType.I8, -2.5, -2.0)]
    [TestCase(DType.I8, -0.5, 0.0)]
    [TestCase(DType.I8, 127.5, 127.0)]
    [TestCase(DType.I8, -128.5, -128.0)]
    [TestCase(DType.I8, -129.5, -128.0)]
    [TestCase(DType.I8, 300.0, 127.0)]
    [TestCase(DType.U8, 254.5, 254.0)]
    [TestCase(DType.U8, 255.5, 255.0)]
    [TestCase(DType.U8, -0.6, 0.0)]
    [TestCase(DType.U8, 0.5, 0.0)]
    [TestCase(DType.U8, 1.5, 2.0)]
    [TestCase(DType.I32, 2147483646.5, 2147483646.0)]
    [TestCase(DType.I32, 2147483647.5, 2147483647.0)]
    [TestCase(DType.I32, -2147483648.5, -2147483648.0)]
    [TestCase(DType.I32, 1e12, 2147483647.0)]
    [TestCase(DType.I32, double.NegativeInfinity, -2147483648.0)]
    [TestCase(DType.I32, double.NaN, 0.0)]
    [TestCase(DType.U8, double.NaN, 0.0)]
    public void IntegerExamples(DType dtype, double value, double expected) =>
        Assert.That(RoundTrip(dtype, value), Is.EqualTo(expected));

    [TestCaseSource(typeof(DTypes), nameof(DTypes.All))]
    public void RunsPlaceEachElementAtItsIndex(DType dtype)
    {
        double[] values = dtype.IsInteger() ? [1, 2, 3, 4, 5] : [0.5, -1, 2, -0.25, 3];
        var bytes = new byte[(values.Length + 2) * dtype.Size()];
        Array.Fill(bytes, (byte)0xA5);
        ElementConvert.FromDoubles(dtype, values, bytes);
        var back = new double[values.Length];
        ElementConvert.ToDoubles(dtype, bytes, back);
        Assert.That(back, Is.EqualTo(values));
        for (int i = 0; i < values.Length; i++)
        {
            Assert.That(ElementConvert.Read(dtype, bytes, i), Is.EqualTo(values[i]));
        }
        Assert.That(bytes.Skip(values.Length * dtype.Size()), Is.All.EqualTo((byte)0xA5), "bytes past the run untouched");
        ElementConvert.Write(dtype, bytes, 2, 1);
        Assert.That(ElementConvert.Read(dtype, bytes, 2), Is.EqualTo(1.0));
        Assert.That(ElementConvert.Read(dtype, bytes, 1), Is.EqualTo(values[1]));
        Assert.That(ElementConvert.Read(dtype, bytes, 3), Is.EqualTo(values[3]));
    }
}
