using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Runtime;
using static Zoetrope.Tests.Attention.AttentionTestKit;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// softmax's masked-logit contract, stated directly rather than through the harness: -inf gets
/// probability 0, a lane that meets only -inf (or -inf before any finite value) is no NaN, and a
/// fully masked row is 0 throughout, on the reference and on ILGPU alike.
/// </summary>
public class SoftmaxMaskedTests
{
    // The review's row set: [4, 256], every 7th and every 32nd element -inf (so lane 0 sees only
    // -inf, and several lanes start on one); row 2 fully masked as well.
    private static double[] Logits(int rows, int cols, int fullRow, int seed)
    {
        var x = Gaussian((long)rows * cols, seed, std: 3);
        for (int i = 0; i < x.Length; i++)
        {
            if (i % 7 == 0 || i % 32 == 0 || i / cols == fullRow)
            {
                x[i] = double.NegativeInfinity;
            }
        }
        return x;
    }

    [TestCase(DType.F32, 4, 256)]
    [TestCase(DType.BF16, 3, 1025)]
    [TestCase(DType.F16, 5, 33)]
    public void MaskedLogitsGetZeroAndRowsSumToOne(DType dtype, int rows, int cols)
    {
        var x = Logits(rows, cols, fullRow: 2, seed: cols);
        var instance = Softmax.Info.Instantiate(new Softmax.Params(dtype, rows, cols));
        var inputs = new Dictionary<string, double[]> { ["x"] = x };
        var expected = Reference(instance, inputs)["y"];
        var actual = Run(instance, Cpu, inputs)["y"];
        double tol = dtype == DType.F32 ? 1e-6 : 1e-2;
        for (int r = 0; r < rows; r++)
        {
            var row = actual.AsSpan(r * cols, cols).ToArray();
            Assert.That(row, Has.All.Matches<double>(double.IsFinite), $"row {r}: no NaN from -inf");
            if (r == 2)
            {
                Assert.That(row, Has.All.EqualTo(0.0), "a fully masked row is 0");
                Assert.That(expected.AsSpan(r * cols, cols).ToArray(), Has.All.EqualTo(0.0), "the reference agrees");
                continue;
            }
            Assert.That(row.Sum(), Is.EqualTo(1.0).Within(tol), $"row {r} sums to 1");
            for (int c = 0; c < cols; c++)
            {
                int i = (r * cols) + c;
                if (double.IsNegativeInfinity(x[i]))
                {
                    Assert.That(actual[i], Is.EqualTo(0.0), $"masked element {i}");
                }
                Assert.That(actual[i], Is.EqualTo(expected[i]).Within((tol * expected[i]) + 1e-7), $"element {i}");
            }
        }
    }

    [Test]
    public void EveryRowFullyMaskedIsAllZeros()
    {
        var instance = Softmax.Info.Instantiate(new Softmax.Params(DType.F32, 2, 40));
        var inputs = new Dictionary<string, double[]> { ["x"] = Enumerable.Repeat(double.NegativeInfinity, 80).ToArray() };
        Assert.That(Reference(instance, inputs)["y"], Has.All.EqualTo(0.0));
        Assert.That(Run(instance, Cpu, inputs)["y"], Has.All.EqualTo(0.0));
    }
}
