using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Rope;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Rope;

/// <summary>RoPE's properties on the ILGPU kernel: pair norms kept, composition adds positions, the split is Wan's.</summary>
public class RopePropertyTests
{
    private static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    private static double[] Rotate(double[] x, int heads, int d, RopeGrid grid, RopeSplit split, int positions = 64)
    {
        using var table = WanRopeTable.Create(split, positions).To(Cpu);
        using var tx = Tensor.FromDoubles(x, DType.F32, new Shape(1, heads, grid.Tokens, d), "x").To(Cpu);
        using var o = Cpu.Allocate(DType.F32, tx.Shape, "out");
        RopeApply.Run(tx, table, o, HeadLayout.Hnd, grid, split);
        return o.ToDoubles();
    }

    private static double[] Random(int n, int seed)
    {
        var v = new double[n];
        InitSpec.Normal.Fill(v, new Random(seed));
        return v.Select(x => (double)(float)x).ToArray();
    }

    [Test]
    public void RotationPreservesEveryPairsNorm()
    {
        var grid = new RopeGrid(3, 2, 4, 7);
        var x = Random((int)(2 * grid.Tokens * 128), 1);
        var y = Rotate(x, 2, 128, grid, RopeSplit.Wan128);
        for (int i = 0; i < x.Length; i += 2)
        {
            double before = Math.Sqrt((x[i] * x[i]) + (x[i + 1] * x[i + 1]));
            double after = Math.Sqrt((y[i] * y[i]) + (y[i + 1] * y[i + 1]));
            Assert.That(after, Is.EqualTo(before).Within(2e-6 * Math.Max(1, before)), $"pair {i / 2}");
        }
    }

    [Test]
    public void RotatingByAThenBEqualsRotatingByAPlusB()
    {
        // One token at row 0, column 0: only the time pairs turn, by the frame offset.
        var split = RopeSplit.Wan128;
        var x = Random(128, 2);
        foreach (var (a, b) in new[] { (3, 4), (0, 9), (17, 20) })
        {
            var ab = Rotate(Rotate(x, 1, 128, new RopeGrid(1, 1, 1, a), split), 1, 128, new RopeGrid(1, 1, 1, b), split);
            var direct = Rotate(x, 1, 128, new RopeGrid(1, 1, 1, a + b), split);
            for (int i = 0; i < 128; i++)
            {
                Assert.That(ab[i], Is.EqualTo(direct[i]).Within(2e-6), $"a={a} b={b} element {i}");
            }
        }
    }

    [Test]
    public void WanSplitAndTableMatchADirectPerAxisComputation()
    {
        Assert.That(RopeSplit.Wan(128), Is.EqualTo(new RopeSplit(44, 42, 42)));
        Assert.That(RopeSplit.Wan(64), Is.EqualTo(new RopeSplit(24, 20, 20)));
        var table = WanRopeTable.Values(RopeSplit.Wan128, 32);
        // Wan: per axis, freqs = 1 / 10000^(arange(0, d_axis, 2) / d_axis), the three concatenated.
        var axes = new[] { 44, 42, 42 };
        int pair = 0;
        foreach (var dAxis in axes)
        {
            for (int k = 0; k < dAxis; k += 2, pair++)
            {
                double freq = 1.0 / Math.Pow(10000, (double)k / dAxis);
                foreach (int p in new[] { 0, 1, 31 })
                {
                    Assert.That(table[((p * 64) + pair) * 2], Is.EqualTo(Math.Cos(p * freq)).Within(1e-12));
                    Assert.That(table[(((p * 64) + pair) * 2) + 1], Is.EqualTo(Math.Sin(p * freq)).Within(1e-12));
                }
            }
        }
        Assert.That(pair, Is.EqualTo(64));
    }

    [Test]
    public void BadHeadDimsSplitsAndGridsAreArgumentErrors()
    {
        Assert.Throws<ArgumentException>(() => RopeSplit.Wan(127));
        var e = Assert.Throws<ArgumentException>(() => RopeSplit.Wan128.Validate(64))!;
        Assert.That(e.Message, Does.Contain("44/42/42").And.Contain("128").And.Contain("64"));
        Assert.Throws<ArgumentException>(() => new RopeSplit(43, 43, 42).Validate(128));
        var g = Assert.Throws<ArgumentException>(() => new RopeGrid(2, 2, 2, 0).Validate(9, 64))!;
        Assert.That(g.Message, Does.Contain("8 tokens").And.Contain("9"));
        var far = Assert.Throws<ArgumentException>(() => new RopeGrid(3, 1, 1, 1022).Validate(3, 1024))!;
        Assert.That(far.Message, Does.Contain("1024-entry table"));
        var x = Cpu.Allocate(DType.F32, new Shape(1, 1, 4, 64), "x");
        var table = WanRopeTable.Create(RopeSplit.Wan(64), 16).To(Cpu);
        var wrong = Assert.Throws<ArgumentException>(() => RopeApply.Run(x, table, Cpu.Allocate(DType.F32, new Shape(1, 1, 4, 64), "o"), HeadLayout.Hnd, new RopeGrid(1, 2, 2, 0), RopeSplit.Wan128))!;
        Assert.That(wrong.Message, Does.Contain("44/42/42"));
    }
}
