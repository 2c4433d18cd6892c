using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Runtime;
using static Zoetrope.Tests.Attention.AttentionTestKit;

namespace Zoetrope.Tests.Attention;

/// <summary>Dense attention: FlashAttention's accuracy rule, masks against an explicit mask, bad input.</summary>
public class AttentionTests
{
    // What a straightforward implementation in the same precision computes: scores, probabilities
    // and output each rounded to the input type (fp32 arithmetic in between).
    private static double[] NaiveSamePrecision(AttentionGeometry g, DType dtype, double[] q, double[] k, double[] v)
    {
        var o = new double[q.Length];
        var s = new double[g.KvLen];
        var row = new double[g.HeadDim];
        float scale = g.DefaultScale;
        for (int h = 0; h < g.Heads; h++)
        {
            int hkv = h / g.Group;
            for (long i = 0; i < g.QLen; i++)
            {
                float max = float.NegativeInfinity;
                for (long j = 0; j < g.KvLen; j++)
                {
                    float dot = 0;
                    for (int c = 0; c < g.HeadDim; c++)
                    {
                        dot += (float)q[g.QStrides.Of(0, h, i) + c] * (float)k[g.KvStrides.Of(0, hkv, j) + c];
                    }
                    s[j] = g.Mask.Visible(i + g.QOffset, j) ? Rounded([dot * scale], dtype)[0] : double.NegativeInfinity;
                    max = Math.Max(max, (float)s[j]);
                }
                float sum = 0;
                for (long j = 0; j < g.KvLen; j++)
                {
                    s[j] = MathF.Exp((float)s[j] - max);
                    sum += (float)s[j];
                }
                var p = Rounded(s.Select(x => (double)((float)x / sum)).ToArray(), dtype);
                Array.Clear(row);
                for (long j = 0; j < g.KvLen; j++)
                {
                    for (int c = 0; c < g.HeadDim; c++)
                    {
                        row[c] = (float)row[c] + ((float)p[j] * (float)v[g.KvStrides.Of(0, hkv, j) + c]);
                    }
                }
                var rounded = Rounded(row, dtype);
                Array.Copy(rounded, 0, o, g.QStrides.Of(0, h, i), g.HeadDim);
            }
        }
        return o;
    }

    private static IEnumerable<TestCaseData> RuleCases()
    {
        foreach (var dtype in new[] { DType.F16, DType.BF16 })
        {
            yield return new TestCaseData(dtype, Hnd(1, 2, 2, 48, 48, 64, AttentionMask.None)).SetArgDisplayNames(dtype.Name(), "none");
            yield return new TestCaseData(dtype, Hnd(1, 2, 1, 30, 70, 64, AttentionMask.Causal)).SetArgDisplayNames(dtype.Name(), "causal-gqa");
            yield return new TestCaseData(dtype, Hnd(1, 2, 2, 40, 40, 128, AttentionMask.BlockCausal(9, 2, 1))).SetArgDisplayNames(dtype.Name(), "block");
        }
    }

    [TestCaseSource(nameof(RuleCases))]
    public void FlashErrorIsAtMostTwiceTheNaiveError(DType dtype, AttentionGeometry g)
    {
        var inputs = new Dictionary<string, double[]>
        {
            ["q"] = Rounded(Gaussian(g.Q.ElementCount, 1), dtype),
            ["k"] = Rounded(Gaussian(g.Kv.ElementCount, 2), dtype),
            ["v"] = Rounded(Gaussian(g.Kv.ElementCount, 3), dtype),
        };
        var op = Zoetrope.Attention.Flash.Attention.Info.Instantiate(new Zoetrope.Attention.Flash.Attention.Params(dtype, g));
        var exact = Reference(op, inputs)["o"];
        var flash = Run(op, Cpu, inputs)["o"];
        var naive = NaiveSamePrecision(g, dtype, inputs["q"], inputs["k"], inputs["v"]);
        var (flashMax, flashRel) = Errors(exact, flash);
        var (naiveMax, naiveRel) = Errors(exact, naive);
        TestContext.Out.WriteLine($"{dtype.Name()} {g.Label}: flash max {flashMax:g3} relL2 {flashRel:g3}; naive max {naiveMax:g3} relL2 {naiveRel:g3}");
        Assert.That(flash.All(double.IsFinite), Is.True, "NaN or Inf in the output");
        Assert.That(flashMax, Is.LessThanOrEqualTo((2 * naiveMax) + 1e-5));
        Assert.That(flashRel, Is.LessThanOrEqualTo((2 * naiveRel) + 1e-5));
    }

    // The stream's mask written out as REFERENCE.md states it, one boolean per (query, key):
    // kv < block_end(q), kv >= block_end(q) - W * block (W > 0), sink blocks always visible.
    private static bool[,] ExplicitMask(int nq, int nkv, int block, int window, int sinks)
    {
        var mask = new bool[nq, nkv];
        for (int i = 0; i < nq; i++)
        {
            int pos = i + nkv - nq;
            int blockEnd = ((pos / block) + 1) * block;
            for (int j = 0; j < nkv; j++)
            {
                mask[i, j] = j < blockEnd && (window == 0 || j >= blockEnd - (window * block) || j < sinks * block);
            }
        }
        return mask;
    }

    [TestCase(7, 2, 1, 33, 33)]
    [TestCase(12, 3, 1, 12, 100)]
    [TestCase(20, 0, 0, 50, 70)]
    [TestCase(5, 1, 2, 25, 60)]
    public void BlockCausalMaskEqualsTheExplicitMask(int block, int window, int sinks, int nq, int nkv)
    {
        var g = Hnd(1, 1, 1, nq, nkv, 64, AttentionMask.BlockCausal(block, window, sinks));
        var q = Rounded(Gaussian(g.Q.ElementCount, 4), DType.F32);
        var k = Rounded(Gaussian(g.Kv.ElementCount, 5), DType.F32);
        var v = Rounded(Gaussian(g.Kv.ElementCount, 6), DType.F32);
        var op = Zoetrope.Attention.Flash.Attention.Info.Instantiate(new Zoetrope.Attention.Flash.Attention.Params(DType.F32, g));
        var actual = Run(op, Cpu, new Dictionary<string, double[]> { ["q"] = q, ["k"] = k, ["v"] = v })["o"];

        var mask = ExplicitMask(nq, nkv, block, window, sinks);
        var expected = new double[q.Length];
        for (int i = 0; i < nq; i++)
        {
            var w = new double[nkv];
            double max = double.NegativeInfinity;
            for (int j = 0; j < nkv; j++)
            {
                w[j] = mask[i, j] ? Enumerable.Range(0, 64).Sum(c => q[(i * 64) + c] * k[(j * 64) + c]) / 8.0 : double.NegativeInfinity;
                max = Math.Max(max, w[j]);
            }
            double sum = w.Sum(x => Math.Exp(x - max));
            for (int c = 0; c < 64; c++)
            {
                expected[(i * 64) + c] = Enumerable.Range(0, nkv).Sum(j => Math.Exp(w[j] - max) * v[(j * 64) + c]) / sum;
            }
        }
        var (maxAbs, rel) = Errors(expected, actual);
        Assert.That(rel, Is.LessThan(1e-5), $"max abs {maxAbs:g3}");
    }

    // q, k, v and o on the CPU accelerator, for the shape and dtype checks.
    private sealed class Qkvo(DType dtype, Shape q, Shape k, Shape v) : IDisposable
    {
        public Tensor Q { get; } = Cpu.Allocate(dtype, q, "q");
        public Tensor K { get; } = Cpu.Allocate(dtype, k, "k");
        public Tensor V { get; } = Cpu.Allocate(dtype, v, "v");
        public Tensor O { get; } = Cpu.Allocate(dtype, q, "o");

        public void Dispose()
        {
            Q.Dispose();
            K.Dispose();
            V.Dispose();
            O.Dispose();
        }
    }

    [Test]
    public void MismatchedHeadsNameBothTensors()
    {
        using var t = new Qkvo(DType.F16, new Shape(1, 3, 16, 64), new Shape(1, 2, 16, 64), new Shape(1, 2, 16, 64));
        var e = Assert.Throws<ArgumentException>(() => Zoetrope.Attention.Flash.Attention.Run(t.Q, t.K, t.V, t.O, HeadLayout.Hnd, AttentionMask.None));
        Assert.That(e!.Message, Does.Contain("'q'").And.Contain("'k'").And.Contain("[1, 3, 16, 64]").And.Contain("[1, 2, 16, 64]"));
    }

    [Test]
    public void KAndVOfDifferentShapesAreRejected()
    {
        using var t = new Qkvo(DType.BF16, new Shape(1, 16, 2, 64), new Shape(1, 16, 2, 64), new Shape(1, 17, 2, 64));
        var e = Assert.Throws<ArgumentException>(() => Zoetrope.Attention.Flash.Attention.Run(t.Q, t.K, t.V, t.O, HeadLayout.Nhd, AttentionMask.Causal));
        Assert.That(e!.Message, Does.Contain("'k'").And.Contain("'v'").And.Contain("[1, 17, 2, 64]"));
    }

    [Test]
    public void WrongDTypeIsNamed()
    {
        using var t = new Qkvo(DType.I8, new Shape(1, 1, 16, 64), new Shape(1, 1, 16, 64), new Shape(1, 1, 16, 64));
        var e = Assert.Throws<ArgumentException>(() => Zoetrope.Attention.Flash.Attention.Run(t.Q, t.K, t.V, t.O, HeadLayout.Hnd, AttentionMask.None));
        Assert.That(e!.Message, Does.Contain("i8"));
    }

    [Test]
    public void HeadDimOtherThan64Or128IsRejected()
    {
        using var q = Cpu.Allocate(DType.F16, new Shape(1, 1, 16, 96), "q");
        using var o = Cpu.Allocate(DType.F16, new Shape(1, 1, 16, 96), "o");
        var e = Assert.Throws<ArgumentException>(() => Zoetrope.Attention.Flash.Attention.Run(q, q, q, o, HeadLayout.Hnd, AttentionMask.None));
        Assert.That(e!.Message, Does.Contain("96"));
    }

    [Test]
    public void VisiblePairsCountMatchesThePredicate()
    {
        foreach (var mask in new[] { AttentionMask.None, AttentionMask.Causal, AttentionMask.BlockCausal(7, 2, 1), AttentionMask.BlockCausal(5, 3, 0), AttentionMask.BlockCausal(9) })
        {
            var g = Hnd(1, 1, 1, 37, 90, 64, mask);
            long brute = 0;
            for (long i = 0; i < g.QLen; i++)
            {
                for (long j = 0; j < g.KvLen; j++)
                {
                    brute += mask.Visible(i + g.QOffset, j) ? 1 : 0;
                }
            }
            Assert.That(g.VisiblePairs, Is.EqualTo(brute), mask.Label);
        }
    }
}
