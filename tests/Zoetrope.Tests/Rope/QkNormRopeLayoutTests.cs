using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Rope;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Tests.Rope;

/// <summary>
/// The streaming engine's side of qk_norm_rope / qk_norm_rope_int8 on the ILGPU CPU kernels:
/// layout=nhd is the hnd result transposed bit for bit (and lands in a KV-cache pool's frame rows
/// without touching the others), rows=1 gives one scale per token and head in q's order, a given
/// mean equal to the computed one changes nothing, and bad inputs are refused by name.
/// </summary>
public class QkNormRopeLayoutTests
{
    private static readonly Backend Cpu = Zoetrope.Runtime.Backends.Get(BackendKind.IlgpuCpu);

    // Two frames of 2x3 tokens at frame offset 4, 3 heads of 64: 12 tokens, a 64-row block partial.
    private const int Heads = 3;
    private const int D = 64;
    private static readonly RopeGrid Grid = new(2, 2, 3, 4);

    private static double[] Random(long n, int seed, double std = 1)
    {
        var v = new double[n];
        InitSpec.Gaussian(0, std).Fill(v, new Random(seed));
        return v.Select(x => (double)(float)x).ToArray();
    }

    private static Tensor Input(DType dtype, int batch = 1) =>
        Tensor.FromDoubles(Random(batch * Grid.Tokens * Heads * D, 11), dtype, new Shape(batch, Grid.Tokens, Heads * D), "x").To(Cpu);

    private static Tensor Weight(DType dtype) => Tensor.FromDoubles(Random(Heads * D, 12, 0.25).Select(w => w + 1).ToArray(), dtype, new Shape(Heads * D), "weight").To(Cpu);

    private static Tensor Table() => WanRopeTable.Create(RopeSplit.Wan(D), 16).To(Cpu);

    private static QkGeometry Geometry(Tensor x, Tensor table, HeadLayout layout) => QkGeometry.Of(x, table, Heads, Grid, null, 1e-6f, layout);

    /// <summary>Runs the int8 op; returns q, scale and (when smoothing) the mean as doubles.</summary>
    private static (double[] Q, double[] Scale, double[]? Mean) Int8(QkNormRopeInt8.Params p, Tensor x, Tensor weight, Tensor table, double[]? givenMean = null)
    {
        var g = p.Geometry;
        using var q = Cpu.Allocate(DType.I8, g.Output, "q");
        using var scale = Cpu.Allocate(DType.F32, p.ScaleShape, "scale");
        using var mean = p.Smooth
            ? (givenMean is null ? Cpu.Allocate(DType.F32, new Shape(g.Batch, g.Heads, g.HeadDim), "mean") : Tensor.FromDoubles(givenMean, DType.F32, new Shape(g.Batch, g.Heads, g.HeadDim), "mean").To(Cpu))
            : null;
        QkNormRopeInt8.Run(p, x, weight, table, q, scale, mean);
        return (q.ToDoubles(), scale.ToDoubles(), mean?.ToDoubles());
    }

    /// <summary>[B, H, N, ...] as doubles, read in [B, N, H, ...] order.</summary>
    private static double[] HndToNhd(double[] hnd, Shape shape, int inner)
    {
        long b = shape[0], h = shape[1], n = shape[2];
        var o = new double[hnd.Length];
        for (long bi = 0; bi < b; bi++)
        {
            for (long hi = 0; hi < h; hi++)
            {
                for (long ni = 0; ni < n; ni++)
                {
                    Array.Copy(hnd, (((bi * h) + hi) * n + ni) * inner, o, (((bi * n) + ni) * h + hi) * inner, inner);
                }
            }
        }
        return o;
    }

    [TestCase(DType.F32)]
    [TestCase(DType.BF16)]
    public void NhdOutputIsTheHndOutputTransposedBitForBit(DType dtype)
    {
        using var x = Input(dtype, batch: 2);
        using var w = Weight(dtype);
        using var table = Table();
        using var hnd = Cpu.Allocate(dtype, new Shape(2, Heads, Grid.Tokens, D), "hnd");
        using var nhd = Cpu.Allocate(dtype, new Shape(2, Grid.Tokens, Heads, D), "nhd");
        QkNormRope.Run(x, w, table, hnd, Heads, Grid);
        QkNormRope.Run(x, w, table, nhd, Heads, Grid, layout: HeadLayout.Nhd);
        var a = hnd.ToDoubles();
        Assert.That(a.Any(v => v != 0), "the hnd output is not all zeros");
        Assert.That(nhd.ToDoubles(), Is.EqualTo(HndToNhd(a, hnd.Shape, D)));
    }

    [Test]
    public void Int8NhdIsTheHndResultTransposedForEveryGranularity()
    {
        using var x = Input(DType.BF16, batch: 2);
        using var w = Weight(DType.BF16);
        using var table = Table();
        var hg = Geometry(x, table, HeadLayout.Hnd);
        var ng = hg with { Layout = HeadLayout.Nhd };
        foreach (var (hp, np) in new[]
        {
            (QkNormRopeInt8.Params.Query(DType.BF16, hg, perWarp: true), QkNormRopeInt8.Params.Query(DType.BF16, ng, perWarp: true)),
            (QkNormRopeInt8.Params.Key(DType.BF16, hg), QkNormRopeInt8.Params.Key(DType.BF16, ng)),
            (QkNormRopeInt8.Params.KeyPerToken(DType.BF16, hg, meanGiven: false), QkNormRopeInt8.Params.KeyPerToken(DType.BF16, ng, meanGiven: false)),
        })
        {
            var h = Int8(hp, x, w, table);
            var n = Int8(np, x, w, table);
            Assert.That(h.Q.Count(v => v != 0), Is.GreaterThan(h.Q.Length / 2), hp.Label);
            Assert.That(n.Q, Is.EqualTo(HndToNhd(h.Q, hg.Output, D)), np.Label);
            // Per-block scales are [B, H, blocks] in both layouts; one per token is q's order without D.
            var expected = hp.BlockRows == 1 ? HndToNhd(h.Scale, new Shape(2, Heads, Grid.Tokens), 1) : h.Scale;
            Assert.That(n.Scale, Is.EqualTo(expected), np.Label);
            Assert.That(n.Mean, Is.EqualTo(h.Mean), np.Label);
        }
    }

    [TestCase(HeadLayout.Hnd)]
    [TestCase(HeadLayout.Nhd)]
    public void PerTokenScalesAreEachRowsOwnAmax(HeadLayout layout)
    {
        using var x = Input(DType.F16);
        using var w = Weight(DType.F16);
        using var table = Table();
        var g = Geometry(x, table, layout);
        var r = Int8(QkNormRopeInt8.Params.KeyPerToken(DType.F16, g, meanGiven: false), x, w, table);
        Assert.That(r.Scale.Length, Is.EqualTo(Grid.Tokens * Heads));
        // Each row of D codes has its own scale: its largest code is +-127.
        for (int row = 0; row < r.Scale.Length; row++)
        {
            double amax = Enumerable.Range(0, D).Max(c => Math.Abs(r.Q[(row * D) + c]));
            Assert.That(amax, Is.EqualTo(127), $"row {row}");
        }
    }

    [TestCase(HeadLayout.Hnd)]
    [TestCase(HeadLayout.Nhd)]
    public void AGivenMeanEqualToTheComputedOneGivesTheSameCodesAndScales(HeadLayout layout)
    {
        using var x = Input(DType.BF16, batch: 2);
        using var w = Weight(DType.BF16);
        using var table = Table();
        var g = Geometry(x, table, layout);
        var computed = Int8(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: false), x, w, table);
        Assert.That(computed.Mean!.Any(m => m != 0), "the computed mean is not all zeros");
        var given = Int8(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: true), x, w, table, computed.Mean);
        Assert.That(given.Q, Is.EqualTo(computed.Q));
        Assert.That(given.Scale, Is.EqualTo(computed.Scale));
        Assert.That(given.Mean, Is.EqualTo(computed.Mean), "a given mean is read, not written");
        // Another vector changes the codes: the input is really used.
        var shifted = Int8(QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: true), x, w, table, computed.Mean!.Select(m => m + 0.5).ToArray());
        Assert.That(shifted.Q, Is.Not.EqualTo(computed.Q));
    }

    [Test]
    public void NhdWritesOneFrameIntoACachePoolSlotAndNothingElse()
    {
        // The engine's pool: [1, slots * T, H, D] with T tokens per latent frame; frame 1 of the
        // grid goes into slot 2 by a view of the pool (a slice along the token rows).
        const int slots = 4;
        var frame = new RopeGrid(1, 2, 3, 5);
        int t = (int)frame.Tokens;
        using var x = Tensor.FromDoubles(Random(t * Heads * D, 21), DType.BF16, new Shape(1, t, Heads * D), "x").To(Cpu);
        using var w = Weight(DType.BF16);
        using var table = Table();
        var sentinel = Enumerable.Repeat(3.0, slots * t * Heads * D).ToArray();
        using var pool = Tensor.FromDoubles(sentinel, DType.BF16, new Shape(1, slots * t, Heads, D), "k_pool").To(Cpu);
        using var scalePool = Tensor.FromDoubles(sentinel.AsSpan(0, slots * t * Heads), DType.F32, new Shape(1, slots * t, Heads), "k_scale_pool").To(Cpu);
        using var qPool = Cpu.Allocate(DType.I8, new Shape(1, slots * t, Heads, D), "k_q_pool");
        using var alone = Cpu.Allocate(DType.BF16, new Shape(1, t, Heads, D), "alone");
        QkNormRope.Run(x, w, table, alone, Heads, frame, layout: HeadLayout.Nhd);
        QkNormRope.Run(x, w, table, pool.Slice(1, 2 * t, t), Heads, frame, layout: HeadLayout.Nhd);
        var all = pool.ToDoubles();
        long slot = (long)t * Heads * D;
        Assert.That(all.AsSpan((int)(2 * slot), (int)slot).ToArray(), Is.EqualTo(alone.ToDoubles()));
        Assert.That(all.Take((int)(2 * slot)).Concat(all.Skip((int)(3 * slot))), Is.All.EqualTo(3.0), "the other slots are untouched");

        // The quantized cache: codes and one scale per (token, head) into the same slot.
        var g = QkGeometry.Of(x, table, Heads, frame, null, 1e-6f, HeadLayout.Nhd);
        var p = QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: true);
        using var mean = Tensor.FromDoubles(Random(Heads * D, 22, 0.1), DType.F32, new Shape(1, Heads, D), "k_mean").To(Cpu);
        var own = Int8(p, x, w, table, mean.ToDoubles());
        QkNormRopeInt8.Run(p, x, w, table, qPool.Slice(1, 2 * t, t), scalePool.Slice(1, 2 * t, t), mean);
        Assert.That(qPool.Slice(1, 2 * t, t).ToDoubles(), Is.EqualTo(own.Q));
        var scales = scalePool.ToDoubles();
        Assert.That(scales.AsSpan(2 * t * Heads, t * Heads).ToArray(), Is.EqualTo(own.Scale));
        Assert.That(scales.Take(2 * t * Heads).Concat(scales.Skip(3 * t * Heads)), Is.All.EqualTo(3.0));
    }

    [Test]
    public void AGivenMeanOfTheWrongShapeIsRefusedByName()
    {
        using var x = Input(DType.BF16);
        using var w = Weight(DType.BF16);
        using var table = Table();
        var g = Geometry(x, table, HeadLayout.Nhd);
        var p = QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: true);
        using var q = Cpu.Allocate(DType.I8, g.Output, "q");
        using var scale = Cpu.Allocate(DType.F32, p.ScaleShape, "scale");
        using var mean = Cpu.Allocate(DType.F32, new Shape(1, Heads * D), "k_mean");
        var e = Assert.Throws<ArgumentException>(() => QkNormRopeInt8.Run(p, x, w, table, q, scale, mean))!;
        Assert.That(e.Message, Does.Contain("mean").And.Contain($"[1, {Heads}, {D}]").And.Contain($"[1, {Heads * D}]"));
        var missing = Assert.Throws<ArgumentException>(() => QkNormRopeInt8.Run(p, x, w, table, q, scale, null))!;
        Assert.That(missing.Message, Does.Contain("mean"));
    }

    [Test]
    public void HndScalesGivenForAnNhdPerTokenOutputAreRefusedByName()
    {
        using var x = Input(DType.BF16);
        using var w = Weight(DType.BF16);
        using var table = Table();
        var g = Geometry(x, table, HeadLayout.Nhd);
        var p = QkNormRopeInt8.Params.KeyPerToken(DType.BF16, g, meanGiven: false);
        using var q = Cpu.Allocate(DType.I8, g.Output, "q");
        using var scale = Cpu.Allocate(DType.F32, new Shape(1, Heads, Grid.Tokens), "k_scale");
        using var mean = Cpu.Allocate(DType.F32, new Shape(1, Heads, D), "mean");
        var e = Assert.Throws<ArgumentException>(() => QkNormRopeInt8.Run(p, x, w, table, q, scale, mean))!;
        Assert.That(e.Message, Does.Contain("scale").And.Contain($"[1, {Grid.Tokens}, {Heads}]").And.Contain($"[1, {Heads}, {Grid.Tokens}]"));
        using var hndOut = Cpu.Allocate(DType.BF16, new Shape(1, Heads, Grid.Tokens, D), "k_out");
        var o = Assert.Throws<ArgumentException>(() => QkNormRope.Run(x, w, table, hndOut, Heads, Grid, layout: HeadLayout.Nhd))!;
        Assert.That(o.Message, Does.Contain("out").And.Contain($"[1, {Grid.Tokens}, {Heads}, {D}]"));
    }

    [Test]
    public void AGivenMeanWithoutSmoothingAndAnUnknownRowCountAreRefused()
    {
        using var x = Input(DType.F32);
        using var table = Table();
        var g = Geometry(x, table, HeadLayout.Hnd);
        var query = QkNormRopeInt8.Params.Query(DType.F32, g, perWarp: false) with { MeanGiven = true };
        var e = Assert.Throws<ArgumentException>(() => QkNormRopeInt8.Signature(query))!;
        Assert.That(e.Message, Does.Contain("mean=given"));
        var rows = QkNormRopeInt8.Params.KeyPerToken(DType.F32, g, meanGiven: false) with { BlockRows = 2 };
        Assert.That(() => QkNormRopeInt8.Signature(rows), Throws.ArgumentException.With.Message.Contain("2 rows per scale"));
    }
}
