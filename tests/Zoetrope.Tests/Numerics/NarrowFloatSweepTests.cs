// Every encoder from float32/double to a narrow float (FP8 E4M3 and E5M2 in both overflow modes,
// bf16, f16, and ElementConvert's writers) against ReferenceFormat's table-search oracle, over
// SweepInputs (over a million float32 values per format plus double-only values); f16 also
// against System.Half, and E4M3 also against the kernels' encoder (Fp8Math).
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.KernelMath;

namespace Zoetrope.Tests.Numerics;

public class NarrowFloatSweepTests
{
    private delegate uint Encoder(double x);

    // Runs every encoder on every input and compares it with the oracle; returns the input count.
    private static int Check(ReferenceFormat f, bool saturate, IEnumerable<double> inputs, params (string Name, Encoder Encode)[] encoders)
    {
        int n = 0;
        foreach (double x in inputs)
        {
            uint want = f.Encode(x, saturate);
            foreach (var (name, encode) in encoders)
            {
                uint got = encode(x);
                if (got != want)
                {
                    Assert.That(got, Is.EqualTo(want),
                        $"{name}: {x:R} (0x{BitConverter.DoubleToInt64Bits(x):X16}) encoded to 0x{got:X}; the nearest-value oracle says 0x{want:X}");
                }
            }
            n++;
        }
        return n;
    }

    private static IEnumerable<double> Widen(float[] xs) => xs.Select(x => (double)x);

    private static Encoder Through(DType dtype)
    {
        var bytes = new byte[dtype.Size()];
        return x =>
        {
            ElementConvert.Write(dtype, bytes, 0, x);
            return dtype.Size() == 1 ? bytes[0] : (uint)(bytes[0] | (bytes[1] << 8));
        };
    }

    private static void AssertCount(int n, ReferenceFormat f, string what)
    {
        TestContext.Out.WriteLine($"{f} {what}: {n} inputs agree with the oracle");
        Assert.That(n, Is.GreaterThan(SweepInputs.RandomCount), $"{f} {what}: too few inputs swept");
    }

    [Test]
    public void E4M3Saturating()
    {
        var f = ReferenceFormat.E4M3;
        int n = Check(f, saturate: true, SweepInputs.All(f),
            ("Float8E4M3.FromDouble", x => Float8E4M3.FromDouble(x).Bits),
            ("MiniFloat.E4M3 sat", x => MiniFloat.E4M3.Encode(x, saturate: true)),
            ("ElementConvert f8e4m3", Through(DType.F8E4M3)));
        AssertCount(n, f, "satfinite");
    }

    [Test]
    public void E4M3NonSaturating()
    {
        var f = ReferenceFormat.E4M3;
        int n = Check(f, saturate: false, SweepInputs.All(f),
            ("Float8E4M3.FromDouble nosat", x => Float8E4M3.FromDouble(x, saturate: false).Bits),
            ("MiniFloat.E4M3", x => MiniFloat.E4M3.Encode(x, saturate: false)));
        AssertCount(n, f, "non-saturating");
    }

    [Test]
    public void E4M3KernelEncoder()
    {
        var f = ReferenceFormat.E4M3;
        int n = Check(f, saturate: true, Widen(SweepInputs.Floats(f)),
            ("Fp8Math.EncodeE4M3", x => Fp8Math.EncodeE4M3((float)x)));
        AssertCount(n, f, "kernel encoder");
    }

    [Test]
    public void E5M2NonSaturating()
    {
        var f = ReferenceFormat.E5M2;
        int n = Check(f, saturate: false, SweepInputs.All(f),
            ("Float8E5M2.FromDouble", x => Float8E5M2.FromDouble(x).Bits),
            ("MiniFloat.E5M2", x => MiniFloat.E5M2.Encode(x, saturate: false)),
            ("ElementConvert f8e5m2", Through(DType.F8E5M2)));
        AssertCount(n, f, "non-saturating");
    }

    [Test]
    public void E5M2Saturating()
    {
        var f = ReferenceFormat.E5M2;
        int n = Check(f, saturate: true, SweepInputs.All(f),
            ("Float8E5M2.FromDouble sat", x => Float8E5M2.FromDouble(x, saturate: true).Bits),
            ("MiniFloat.E5M2 sat", x => MiniFloat.E5M2.Encode(x, saturate: true)));
        AssertCount(n, f, "satfinite");
    }

    [Test]
    public void Bf16FromSingleIsTheBitTrick()
    {
        var f = ReferenceFormat.BF16;
        int n = Check(f, saturate: false, Widen(SweepInputs.Floats(f)),
            ("BFloat16.FromSingle", x => BFloat16.FromSingle((float)x).Bits));
        AssertCount(n, f, "from f32");
    }

    [Test]
    public void Bf16FromDoubleRoundsOnce()
    {
        var f = ReferenceFormat.BF16;
        int n = Check(f, saturate: false, SweepInputs.All(f),
            ("BFloat16.FromDouble", x => BFloat16.FromDouble(x).Bits),
            ("MiniFloat.BF16", x => MiniFloat.BF16.Encode(x, saturate: false)),
            ("ElementConvert bf16", Through(DType.BF16)));
        AssertCount(n, f, "from f64");
    }

    [Test]
    public void F16AgreesWithTheOracleAndSystemHalf()
    {
        var f = ReferenceFormat.F16;
        int n = Check(f, saturate: false, Widen(SweepInputs.Floats(f)),
            ("MiniFloat.F16", x => MiniFloat.F16.Encode(x, saturate: false)),
            ("ElementConvert f16", Through(DType.F16)),
            ("(Half)float", x => BitConverter.HalfToUInt16Bits((Half)(float)x)));
        n += Check(f, saturate: false, SweepInputs.DoublesOnly(f),
            ("MiniFloat.F16", x => MiniFloat.F16.Encode(x, saturate: false)),
            ("ElementConvert f16", Through(DType.F16)),
            ("(Half)double", x => BitConverter.HalfToUInt16Bits((Half)x)));
        AssertCount(n, f, "from f32 and f64");
    }

    [Test]
    public void WideFormatsSaturateWhenAsked()
    {
        // Not used by ElementConvert, but public: MiniFloat's satfinite mode for f16 and bf16.
        int n = Check(ReferenceFormat.F16, saturate: true, SweepInputs.All(ReferenceFormat.F16),
            ("MiniFloat.F16 sat", x => MiniFloat.F16.Encode(x, saturate: true)));
        n += Check(ReferenceFormat.BF16, saturate: true, SweepInputs.All(ReferenceFormat.BF16),
            ("MiniFloat.BF16 sat", x => MiniFloat.BF16.Encode(x, saturate: true)));
        Assert.That(n, Is.GreaterThan(2 * SweepInputs.RandomCount));
    }
}
