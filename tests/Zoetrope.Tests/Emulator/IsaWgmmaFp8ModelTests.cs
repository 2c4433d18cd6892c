// Fp8AccumulationModel (Isa/Wgmma.cs): the opt-in model of Hopper's ~14-bit fp8 wgmma accumulation
// (ZOETROPE_EMU_FP8_ACC=hopper). The truncation is checked against values worked out here from
// the definition (the magnitude floored to a multiple of 2^(exponent - 13)); then the model's
// point: a long K summed in one accumulator loses far more than the same K promoted into fp32
// after every 128 (4 k32 steps), which is what kernels/hopper/linear_sm90.cu does for linear_fp8.
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaWgmmaFp8ModelTests
{
    private static uint Bits(double v) => BitConverter.SingleToUInt32Bits((float)v);
    private static double Value(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    [TestCase(1.0, 1.0)]
    [TestCase(1.0 + (1.0 / 8192), 1.0 + (1.0 / 8192))]                  // 2^-13: the last bit kept
    [TestCase(1.0 + (1.0 / 16384), 1.0)]                                // 2^-14: dropped
    [TestCase(-(1.0 + (3.0 / 16384)), -(1.0 + (1.0 / 8192)))]           // toward zero for negatives too
    [TestCase(16385.0, 16384.0)]                                        // [2^14, 2^15): steps of 2
    [TestCase(16387.5, 16386.0)]
    [TestCase(12345.75, 12345.0)]                                       // [2^13, 2^14): steps of 1
    [TestCase(0.0, 0.0)]
    public void TruncateKeepsThirteenMantissaBitsTowardZero(double v, double expected)
    {
        Assert.That(Value(Fp8AccumulationModel.Truncate(Bits(v))), Is.EqualTo((float)expected));
    }

    [Test]
    public void NaNAndInfinityPassSubnormalsKeepTheirTopFractionBits()
    {
        foreach (float f in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity })
        {
            uint b = BitConverter.SingleToUInt32Bits(f);
            Assert.That(Fp8AccumulationModel.Truncate(b), Is.EqualTo(b));
        }
        // Subnormals: multiples of 2^-149; the model keeps multiples of 2^-139 (the same 13 fraction bits).
        Assert.That(Value(Fp8AccumulationModel.Truncate(0x0000_03FFu)), Is.EqualTo(0f));
        Assert.That(Value(Fp8AccumulationModel.Truncate(0x8000_07FFu)), Is.EqualTo(-(float)Math.ScaleB(1.0, -139)));
    }

    [Test]
    public void TheVariableTakesHopperOrExact()
    {
        Assert.That(Fp8AccumulationModel.Parse(null), Is.False);
        Assert.That(Fp8AccumulationModel.Parse(""), Is.False);
        Assert.That(Fp8AccumulationModel.Parse("exact"), Is.False);
        Assert.That(Fp8AccumulationModel.Parse(" Hopper "), Is.True);
        var e = Assert.Throws<EmulatorException>(() => Fp8AccumulationModel.Parse("h100"))!;
        Assert.That(e.Message, Does.Contain("ZOETROPE_EMU_FP8_ACC=h100").And.Contain("hopper"));
    }

    [Test]
    public void OnlyFp8WithF32AccumulatorsIsTruncated()
    {
        // A = B = 0 and C = 1 + 2^-20 (7 bits below the model's last): D = C, kept in full by the
        // f16/bf16 forms under the model, truncated to 1 by the e4m3 one.
        foreach (string types in new[] { "f32.f16.f16", "f32.bf16.bf16", "f32.e4m3.e4m3" })
        {
            var kind = Kind($"m64n8k{(types.Contains("e4m3", StringComparison.Ordinal) ? 32 : 16)}.{types}");
            var a = new uint[kind.ALayout.Registers * 32];
            var c = Enumerable.Repeat(Bits(1.0 + Math.ScaleB(1.0, -20)), kind.DRegisters * 32).ToArray();
            var d = new uint[c.Length];
            using (Fp8AccumulationModel.Use(true))
            {
                Wgmma.WarpTile(kind, a, (_, _) => 0, false, c, true, d);
            }
            double want = types.Contains("e4m3", StringComparison.Ordinal) ? 1.0 : 1.0 + Math.ScaleB(1.0, -20);
            Assert.That(d.Select(Value), Is.All.EqualTo(want), types);
        }
    }

    private static WgmmaKind Kind(string shapeTypes) =>
        WgmmaKind.Parse($"wgmma.mma_async.sync.aligned.{shapeTypes}".Split('.'), out string why) ?? throw new AssertionException(why);

    // e4m3 bits of (1 + m/8) * 2^e for e in {-1, 0}: positive values in [0.5, 1.875].
    private static uint E4m3(int e, int m) => (uint)(((e + 7) << 3) | m);
    private static double E4m3Value(uint bits) => (1.0 + ((bits & 7) / 8.0)) * Math.ScaleB(1.0, (int)(bits >> 3) - 7);

    [Test]
    public void AtLargeKPromotionEvery128KeepsTheModelsErrorSmall()
    {
        // One warp's 16 x 8 tile of an m64n8k32 e4m3 wgmma chain over K = 4096 (128 k-steps) of
        // positive operands, so the sums only grow and the truncations do not cancel: as one
        // accumulator (a kernel without promotion), and promoted (a fresh partial every 4 steps =
        // 128 of K, added into fp32 as linear_sm90.cu's KSum::kPromoted does).
        const int kTotal = 4096, steps = kTotal / 32;
        var kind = Kind("m64n8k32.f32.e4m3.e4m3");
        var rng = new Random(21);
        var xa = new uint[16, kTotal];
        var wb = new uint[8, kTotal];
        for (int k = 0; k < kTotal; k++)
        {
            for (int r = 0; r < 16; r++)
            {
                xa[r, k] = E4m3(rng.Next(-1, 1), rng.Next(8));
            }
            for (int n = 0; n < 8; n++)
            {
                wb[n, k] = E4m3(rng.Next(-1, 1), rng.Next(8));
            }
        }
        var exact = new double[16, 8];
        for (int r = 0; r < 16; r++)
        {
            for (int n = 0; n < 8; n++)
            {
                for (int k = 0; k < kTotal; k++)
                {
                    exact[r, n] += E4m3Value(xa[r, k]) * E4m3Value(wb[n, k]);
                }
            }
        }

        (double Whole, double Promoted) RelL2()
        {
            int words = kind.DRegisters * 32;
            var a = new uint[kind.ALayout.Registers * 32];
            var whole = new uint[words];
            var part = new uint[words];
            var promoted = new float[words];
            for (int s = 0; s < steps; s++)
            {
                int k0 = 32 * s;
                Wgmma.Pack(kind.ALayout, (r, k) => xa[r, k0 + k], 0, a);
                Wgmma.WarpTile(kind, a, (n, k) => wb[n, k0 + k], false, whole, s > 0, whole);
                Wgmma.WarpTile(kind, a, (n, k) => wb[n, k0 + k], false, part, s % 4 != 0, part);
                if (s % 4 == 3)
                {
                    for (int i = 0; i < words; i++)
                    {
                        promoted[i] += BitConverter.UInt32BitsToSingle(part[i]);
                    }
                }
            }
            // The m16n8 accumulator figure: register q of lane l is row l/4 + 8 (q >> 1), column 2 (l % 4) + (q & 1).
            double ew = 0, ep = 0, norm = 0;
            for (int l = 0; l < 32; l++)
            {
                for (int q = 0; q < 4; q++)
                {
                    double want = exact[(l >> 2) + (8 * (q >> 1)), (2 * (l & 3)) + (q & 1)];
                    ew += Math.Pow(Value(whole[(q * 32) + l]) - want, 2);
                    ep += Math.Pow(promoted[(q * 32) + l] - want, 2);
                    norm += want * want;
                }
            }
            return (Math.Sqrt(ew / norm), Math.Sqrt(ep / norm));
        }

        (double exactWhole, double exactPromoted) = RelL2();
        (double modelWhole, double modelPromoted) result;
        using (Fp8AccumulationModel.Use(true))
        {
            result = RelL2();
        }
        TestContext.Out.WriteLine($"relL2 vs the exact sum, K = {kTotal}: exact wgmma {exactWhole:e2} / {exactPromoted:e2}; "
            + $"Hopper model: one accumulator {result.modelWhole:e2}, promoted every 128 {result.modelPromoted:e2}");
        Assert.That(exactWhole, Is.LessThan(1e-6), "without the model: fp32 rounding only");
        Assert.That(exactPromoted, Is.LessThan(1e-6));
        Assert.That(result.modelWhole, Is.GreaterThan(1e-3), "128 truncations of a growing sum");
        Assert.That(result.modelPromoted, Is.LessThan(3e-4), "4 truncations per 128 of K, then fp32");
        Assert.That(result.modelWhole, Is.GreaterThan(10 * result.modelPromoted));
    }
}
