using NUnit.Framework;
using Zoetrope.Attention;
using Zoetrope.Attention.Flash;
using Zoetrope.Attention.Sparse;
using Zoetrope.Runtime;
using static Zoetrope.Tests.Attention.AttentionTestKit;
using DenseAttention = Zoetrope.Attention.Flash.Attention;

namespace Zoetrope.Tests.Attention;

/// <summary>
/// Attention II beyond the harness: ratio 1 is dense attention, SLA with proj = 0 is block-sparse
/// attention bit for bit, the causal linear state after k blocks is the non-causal sum over them,
/// the selection rules' counts, how the sparse error falls with the ratio on clustered (video-like)
/// tokens, and bad input.
/// </summary>
public class SparseAttentionTests
{
    private static Dictionary<string, double[]> Qkv(AttentionGeometry g, int seed) => new()
    {
        ["q"] = Gaussian(g.Q.ElementCount, seed),
        ["k"] = Gaussian(g.Kv.ElementCount, seed + 1),
        ["v"] = Gaussian(g.Kv.ElementCount, seed + 2),
    };

    private static Dictionary<string, double[]> Map(AttentionGeometry g, SparseBlocks blocks, BlockSelection sel, Dictionary<string, double[]> qkv, Backend? backend = null)
    {
        var op = BlockMap.Info.Instantiate(new BlockMap.Params(DType.F32, g, blocks, sel));
        var inputs = new Dictionary<string, double[]> { ["q"] = qkv["q"], ["k"] = qkv["k"] };
        return backend is null ? Reference(op, inputs) : Run(op, backend, inputs);
    }

    [Test]
    public void RatioOneIsDenseAttentionOnIlgpu()
    {
        var g = Hnd(1, 2, 1, 130, 200, 64, AttentionMask.Causal);
        var blocks = new SparseBlocks(64, 64);
        var qkv = Qkv(g, 11);
        var map = Map(g, blocks, BlockSelection.TopK(1f), qkv, Cpu);
        Assert.That(blocks.Sparsity(g, map["counts"]), Is.EqualTo(0), "ratio 1 keeps every candidate");
        var sparse = Run(BlockSparseAttention.Info.Instantiate(new BlockSparseAttention.Params(DType.F16, g, blocks)), Cpu,
            new Dictionary<string, double[]>(qkv) { ["lut"] = map["lut"], ["counts"] = map["counts"] })["o"];
        var dense = Run(DenseAttention.Info.Instantiate(new DenseAttention.Params(DType.F16, g)), Cpu, qkv)["o"];
        Assert.That(sparse, Is.EqualTo(dense), "the same tiles in the same order: bit-identical");
        var exact = Reference(DenseAttention.Info.Instantiate(new DenseAttention.Params(DType.F32, g)), qkv)["o"];
        Assert.That(Errors(exact, sparse).RelL2, Is.LessThan(3e-3), "attention's f16 tolerance");
    }

    [TestCase(SlaVariant.AllKeys)]
    [TestCase(SlaVariant.Complement)]
    public void SlaWithZeroProjectionIsBlockSparseExactly(SlaVariant variant)
    {
        var g = Hnd(1, 2, 2, 128, 192, 64, AttentionMask.None);
        var blocks = new SparseBlocks(64, 64);
        var qkv = Qkv(g, 21);
        var map = Map(g, blocks, BlockSelection.TopK(0.4f), qkv);
        var inputs = new Dictionary<string, double[]>(qkv) { ["lut"] = map["lut"], ["counts"] = map["counts"], ["proj"] = new double[64 * 64] };
        var sla = Sla.Info.Instantiate(new Sla.Params(DType.BF16, g, blocks, FeatureMap.Elu1, variant, Bias: false));
        var sparse = BlockSparseAttention.Info.Instantiate(new BlockSparseAttention.Params(DType.BF16, g, blocks));
        Assert.That(Run(sla, Cpu, inputs)["o"], Is.EqualTo(Run(sparse, Cpu, inputs)["o"]), "ilgpu-cpu");
        Assert.That(Reference(sla, inputs)["o"], Is.EqualTo(Reference(sparse, inputs)["o"]), "reference");
    }

    [Test]
    public void CausalStateAfterKBlocksIsTheNonCausalSumOverThem()
    {
        const int block = 24, blocks = 3, d = 64;
        var g = Hnd(1, 2, 2, block * blocks, block * blocks, d, AttentionMask.None);
        var qkv = Qkv(g, 31);
        using var state = new LinearAttentionState(Cpu, 1, 2, d, FeatureMap.Softmax);
        var streamed = new List<double[]>();
        for (int c = 0; c < blocks; c++)
        {
            var slice = Slice(qkv, g, c * block, block);
            using var q = Tensor.FromDoubles(slice["q"], DType.F32, new Shape(1, 2, block, d), "q").To(Cpu);
            using var k = Tensor.FromDoubles(slice["k"], DType.F32, new Shape(1, 2, block, d), "k").To(Cpu);
            using var v = Tensor.FromDoubles(slice["v"], DType.F32, new Shape(1, 2, block, d), "v").To(Cpu);
            using var o = Cpu.Allocate(DType.F32, new Shape(1, 2, block, d), "o");
            state.Step(q, k, v, o, HeadLayout.Hnd);
            streamed.Add(o.ToDoubles());

            // The non-causal op over the first c + 1 blocks' keys, from a zero state, leaves the same state.
            var prefix = Slice(qkv, g, 0, (c + 1) * block);
            var gp = Hnd(1, 2, 2, 1, (c + 1) * block, d, AttentionMask.None);
            var full = Reference(LinearAttention.Info.Instantiate(new LinearAttention.Params(DType.F32, gp, FeatureMap.Softmax, State: true)),
                new Dictionary<string, double[]>
                {
                    ["q"] = new double[2 * d], ["k"] = prefix["k"], ["v"] = prefix["v"],
                    ["state"] = new double[2 * d * d], ["zsum"] = new double[2 * d],
                });
            Assert.That(Errors(full["state"], state.State.ToDoubles()).RelL2, Is.LessThan(1e-5), $"S after {c + 1} blocks");
            Assert.That(Errors(full["zsum"], state.Zsum.ToDoubles()).RelL2, Is.LessThan(1e-5), $"z after {c + 1} blocks");
        }
        Assert.That(state.Keys, Is.EqualTo(block * blocks));

        // Streaming block by block is the causal block-linear op over the whole sequence.
        var causal = Reference(LinearAttention.Info.Instantiate(new LinearAttention.Params(DType.F32, g, FeatureMap.Softmax, BlockTokens: block)), qkv)["o"];
        for (int c = 0; c < blocks; c++)
        {
            var expected = Slice(new Dictionary<string, double[]> { ["q"] = causal, ["k"] = causal, ["v"] = causal }, g, c * block, block)["q"];
            Assert.That(Errors(expected, streamed[c]).RelL2, Is.LessThan(1e-4), $"block {c}");
        }
    }

    // Tokens [start, start + count) of every head of HND q, k, v.
    private static Dictionary<string, double[]> Slice(Dictionary<string, double[]> x, AttentionGeometry g, int start, int count) =>
        x.ToDictionary(kv => kv.Key, kv => Enumerable.Range(0, g.Heads)
            .SelectMany(h => kv.Value.Skip((int)g.QStrides.Of(0, h, start)).Take(count * g.HeadDim)).ToArray());

    [Test]
    public void TopKKeepsTheBudgetAndCdfKeepsTheMass()
    {
        var g = Hnd(1, 2, 2, 256, 640, 64, AttentionMask.None);
        var blocks = SparseBlocks.Default;
        var qkv = Qkv(g, 41);
        var topk = Map(g, blocks, BlockSelection.TopK(0.3f, keepDiagonal: false), qkv);
        Assert.That(topk["counts"], Is.All.EqualTo(3), "ceil(0.3 * 10) blocks per query block");
        var forced = Map(g, blocks, BlockSelection.TopK(0.1f, sinkKeys: 1, keepDiagonal: true), qkv);
        for (int row = 0; row < forced["counts"].Length; row++)
        {
            var lut = forced["lut"].Skip(row * 10).Take((int)forced["counts"][row]).ToArray();
            Assert.That(lut, Does.Contain(0.0), "the sink block is kept");
            Assert.That(lut, Does.Contain((double)(6 + (row % 2 * 2))), "the key block at the query block's positions (queries are the last 256 of 640) is kept");
            Assert.That(lut, Is.Ordered.Ascending);
        }
        var cdf = Map(g, blocks, BlockSelection.Cdf(0.5f, keepDiagonal: false), qkv);
        var all = Map(g, blocks, BlockSelection.Cdf(1f, keepDiagonal: false), qkv);
        Assert.That(cdf["counts"].Sum(), Is.LessThan(all["counts"].Sum()));
        Assert.That(all["counts"], Is.All.EqualTo(10), "mass 1 needs every block");
    }

    [Test]
    public void SparseErrorFallsAsTheRatioGrowsOnClusteredTokens()
    {
        // Video-like tokens: runs of 64 neighbouring tokens share one of 6 cluster centres (plus
        // noise), and queries match keys of their own cluster, so a few key blocks hold the mass.
        const int n = 768, d = 64, clusters = 6;
        var g = Hnd(1, 2, 2, n, n, d, AttentionMask.None);
        var rng = new Random(5);
        var centres = Enumerable.Range(0, clusters * d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        double[] Tokens(double noise) => Enumerable.Range(0, 2 * n * d).Select(i =>
        {
            int token = i / d % n, c = i % d;
            int cluster = (token / 64 * 7 + token / 256) % clusters;
            return (1.5 * centres[(cluster * d) + c]) + (noise * (rng.NextDouble() * 2 - 1));
        }).ToArray();
        var qkv = new Dictionary<string, double[]> { ["q"] = Tokens(0.5), ["k"] = Tokens(0.5), ["v"] = Gaussian(2 * n * d, 7) };
        var blocks = SparseBlocks.Default;
        var dense = Reference(DenseAttention.Info.Instantiate(new DenseAttention.Params(DType.F32, g)), qkv)["o"];
        var ratios = new[] { 0.09f, 0.17f, 0.25f, 0.34f, 0.5f, 0.75f, 1f };
        var errors = new List<double>();
        TestContext.Out.WriteLine("ratio  sparsity  relL2 vs dense");
        foreach (float r in ratios)
        {
            var map = Map(g, blocks, BlockSelection.TopK(r, keepDiagonal: false), qkv);
            var o = Reference(BlockSparseAttention.Info.Instantiate(new BlockSparseAttention.Params(DType.F32, g, blocks)),
                new Dictionary<string, double[]>(qkv) { ["lut"] = map["lut"], ["counts"] = map["counts"] })["o"];
            errors.Add(Errors(dense, o).RelL2);
            TestContext.Out.WriteLine(FormattableString.Invariant($"{r,5:0.00}  {blocks.Sparsity(g, map["counts"]),8:0.000}  {errors[^1]:0.0000e0}"));
        }
        for (int i = 1; i < errors.Count; i++)
        {
            Assert.That(errors[i], Is.LessThanOrEqualTo((errors[i - 1] * 1.02) + 1e-9), $"ratio {ratios[i]} vs {ratios[i - 1]}");
        }
        Assert.That(errors[^1], Is.LessThan(1e-12), "ratio 1 is dense");
        Assert.That(errors[0], Is.GreaterThan(errors[^2]), "the error does fall");
    }

    [Test]
    public void BadInputIsRejectedByName()
    {
        var g = Hnd(1, 1, 1, 128, 128, 64, AttentionMask.None);
        var e = Assert.Throws<ArgumentException>(() => _ = BlockMap.Info.Instantiate(new BlockMap.Params(DType.F32, g, new SparseBlocks(100, 64), BlockSelection.TopK(0.5f))).Signature);
        Assert.That(e!.Message, Does.Contain("block_q 100"));
        e = Assert.Throws<ArgumentException>(() => _ = BlockMap.Info.Instantiate(new BlockMap.Params(DType.F32, g, SparseBlocks.Default, BlockSelection.TopK(0f))).Signature);
        Assert.That(e!.Message, Does.Contain("ratio 0"));
        e = Assert.Throws<ArgumentException>(() => _ = LinearAttention.Info.Instantiate(new LinearAttention.Params(DType.F32, Hnd(1, 1, 1, 10, 20, 64, AttentionMask.None), FeatureMap.Relu, 4)).Signature);
        Assert.That(e!.Message, Does.Contain("Nq == Nkv"));

        // A LUT entry out of range names the LUT, its row and entry.
        var op = BlockSparseAttention.Info.Instantiate(new BlockSparseAttention.Params(DType.F32, g, SparseBlocks.Default));
        var inputs = new Dictionary<string, double[]>(Qkv(g, 3)) { ["lut"] = [5, -1], ["counts"] = [1] };
        e = Assert.Throws<ArgumentException>(() => Reference(op, inputs));
        Assert.That(e!.Message, Does.Contain("lut row 0 entry 0 = 5"));
    }
}
