// A LoRA merged at load (W + (alpha/rank) * B @ A in f32, cast once) against the same merge done
// by hand in double, from LongLive's file layouts: a .pt {generator_lora, critic_lora, step} and a
// bare safetensors state dict with PEFT's adapter name and FSDP tokens left in. A bad LoRA is
// refused with every missing, unexpected and mis-shaped key named at once.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class LoraMergeTests
{
    // Two layers, so a kind of module covered in one block and not the other can be seen.
    private static readonly DiTConfig Config = DiTConfig.Micro with { Name = "micro-2", Layers = 2 };

    // Every Linear of a block: what LongLive's LoRA targets.
    private static readonly string[] Kinds =
        ["self_attn.q", "self_attn.k", "self_attn.v", "self_attn.o", "cross_attn.q", "cross_attn.k", "cross_attn.v", "cross_attn.o", "ffn.0", "ffn.2"];

    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-lora");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static Tensor Draw(Shape shape, DType dtype, ulong seed, double std, string name)
    {
        var rng = new GaussianNoise(seed);
        return Tensor.FromDoubles(Enumerable.Range(0, (int)shape.ElementCount).Select(_ => std * rng.Next()).ToArray(), dtype, shape, name);
    }

    /// <summary>A and B for every Linear of every block (B not zero, unlike a fresh PEFT adapter, so the merge shows).</summary>
    private static Dictionary<string, (Tensor A, Tensor B)> Adapter(WanWeights w, int rank, DType dtype, ulong seed)
    {
        var result = new Dictionary<string, (Tensor, Tensor)>();
        ulong n = seed;
        for (int i = 0; i < Config.Layers; i++)
        {
            foreach (var kind in Kinds)
            {
                string module = $"blocks.{i}.{kind}";
                var shape = w[module + ".weight"].Shape;
                result[module] = (Draw(new Shape(rank, shape[1]), dtype, n++, 0.5, module + ".A"), Draw(new Shape(shape[0], rank), dtype, n++, 0.1, module + ".B"));
            }
        }
        return result;
    }

    private static void Dispose(Dictionary<string, (Tensor A, Tensor B)> adapter)
    {
        foreach (var (a, b) in adapter.Values)
        {
            a.Dispose();
            b.Dispose();
        }
    }

    /// <summary>LongLive's training-checkpoint layout: PEFT keys under generator_lora, a critic's LoRA and the step beside them.</summary>
    private string WritePt(Dictionary<string, (Tensor A, Tensor B)> adapter)
    {
        var writer = new TorchCheckpointWriter();
        var entries = adapter.SelectMany(kv => new[]
        {
            ((object)$"base_model.model.{kv.Key}.lora_A.weight", (object)writer.Add(kv.Value.A)),
            ((object)$"base_model.model.{kv.Key}.lora_B.weight", (object)writer.Add(kv.Value.B)),
        }).ToArray();
        using var odd = Tensor.FromDoubles([1, 2, 3], DType.F32, new Shape(3), "odd");
        var critic = new PtDict(("base_model.model.head.head.lora_A.weight", writer.Add(odd)));
        string path = _tmp.File("lora.pt");
        writer.WriteZip(path, writer.Pickle(new PtDict(("generator_lora", new PtDict(entries)), ("critic_lora", critic), ("step", 3000L)) { Plain = true }), "lora");
        return path;
    }

    /// <summary>A bare state dict as a live PeftModel names it (adapter "default") under FSDP, as safetensors.</summary>
    private string WriteSafetensors(Dictionary<string, (Tensor A, Tensor B)> adapter)
    {
        string path = _tmp.File("lora.safetensors");
        SafeTensorsWriter.Write(path, adapter.SelectMany(kv => new[]
        {
            new KeyValuePair<string, Tensor>($"base_model.model._fsdp_wrapped_module.{kv.Key}.lora_A.default.weight", kv.Value.A),
            new KeyValuePair<string, Tensor>($"base_model.model._fsdp_wrapped_module.{kv.Key}.lora_B.default.weight", kv.Value.B),
        }));
        return path;
    }

    /// <summary>
    /// Every merged element against W + s * sum_k B[o,k] A[k,i] in double. The bound: the f32 sum
    /// of r products (fused or not) and the two f32 operations after it are within
    /// (r + 3) * 2^-24 of the sum of magnitudes |W| + s * sum |B A| (doubled for margin), and the
    /// one cast to W's dtype adds at most half an ulp, u * |exact| (u = 2^-8 for bf16, 2^-11 f16, 2^-24 f32).
    /// </summary>
    private static void AssertMerged(WanWeights base_, WanWeights merged, Dictionary<string, (Tensor A, Tensor B)> adapter, double scale)
    {
        double u = base_["blocks.0.ffn.0.weight"].DType switch { DType.BF16 => Math.Pow(2, -8), DType.F16 => Math.Pow(2, -11), _ => Math.Pow(2, -24) };
        long exactlyRounded = 0, total = 0;
        foreach (var name in base_.Names)
        {
            string module = name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^".weight".Length] : name;
            if (!adapter.TryGetValue(module, out var ab))
            {
                Assert.That(merged[name].ToBytes(), Is.EqualTo(base_[name].ToBytes()), $"{name} is not a LoRA target and must not change");
                continue;
            }
            Assert.That(merged[name].DType, Is.EqualTo(base_[name].DType), name);
            var w = base_[name].ToDoubles();
            var got = merged[name].ToDoubles();
            var a = ab.A.ToDoubles();
            var b = ab.B.ToDoubles();
            int rows = (int)base_[name].Shape[0], cols = (int)base_[name].Shape[1], rank = (int)ab.A.Shape[0];
            for (int o = 0; o < rows; o++)
            {
                for (int i = 0; i < cols; i++)
                {
                    double sum = 0, magnitude = 0;
                    for (int k = 0; k < rank; k++)
                    {
                        sum += b[(o * rank) + k] * a[(k * cols) + i];
                        magnitude += Math.Abs(b[(o * rank) + k] * a[(k * cols) + i]);
                    }
                    double exact = w[(o * cols) + i] + (scale * sum);
                    double tol = (u * Math.Abs(exact)) + (2 * (rank + 3) * Math.Pow(2, -24) * (Math.Abs(w[(o * cols) + i]) + (scale * magnitude)));
                    double value = got[(o * cols) + i];
                    if (Math.Abs(value - exact) > tol)
                    {
                        Assert.Fail($"{name}[{o}, {i}]: merged {value}, exact {exact}, tolerance {tol}");
                    }
                    using var rounded = Tensor.FromDoubles([exact], merged[name].DType, new Shape(1));
                    exactlyRounded += rounded.ToDoubles()[0] == value ? 1 : 0;
                    total++;
                }
            }
        }
        // One rounding into a narrow dtype: the f32 error is far below half an ulp of bf16, so almost
        // every element is the exact result rounded to nearest (the rest sit within f32 error of a
        // tie). An f32 output has no such margin: there the bound above is the check.
        if (u > Math.Pow(2, -24))
        {
            Assert.That(exactlyRounded, Is.GreaterThanOrEqualTo(total * 0.99), $"{exactlyRounded} of {total} equal to the exact merge rounded once");
        }
    }

    [TestCase(DType.BF16, DType.F32, null)]
    [TestCase(DType.F32, DType.BF16, 4.0)]
    public void APtLoraMergesAsTheMergeByHand(DType baseDType, DType loraDType, double? alpha)
    {
        const int Rank = 8;
        using var w = WanWeights.Random(Config, seed: 31, baseDType);
        var adapter = Adapter(w, Rank, loraDType, 100);
        try
        {
            string basePath = _tmp.File("base.safetensors");
            w.Save(basePath, "model.");
            string lora = WritePt(adapter);
            using var merged = WanWeights.Load(basePath, Config, options: new CheckpointOptions { Lora = lora, LoraAlpha = alpha });
            Assert.That(merged.Lora, Is.Not.Null);
            Assert.That(merged.Lora!.Modules, Is.EqualTo(10 * Config.Layers));
            Assert.That(merged.Lora.Rank, Is.EqualTo(Rank));
            Assert.That(merged.Lora.Alpha, Is.EqualTo(alpha ?? Rank));
            Assert.That(merged.Lora.Scale, Is.EqualTo((alpha ?? Rank) / Rank));
            Assert.That(merged.Lora.ToString(), Does.Contain("20 linear weights").And.Contain("rank 8"));
            AssertMerged(w, merged, adapter, (alpha ?? Rank) / Rank);
        }
        finally
        {
            Dispose(adapter);
        }
    }

    [Test]
    public void ABareSafetensorsLoraWithAdapterNamesAndFsdpTokensMerges()
    {
        const int Rank = 4;
        using var w = WanWeights.Random(Config, seed: 32, DType.BF16);
        var adapter = Adapter(w, Rank, DType.F32, 200);
        try
        {
            string basePath = _tmp.File("base.safetensors");
            w.Save(basePath);
            using var merged = WanWeights.Load(basePath, Config, options: new CheckpointOptions { Lora = WriteSafetensors(adapter) });
            Assert.That(merged.Lora!.Modules, Is.EqualTo(20));
            AssertMerged(w, merged, adapter, 1.0);
        }
        finally
        {
            Dispose(adapter);
        }
    }

    [TestCase(DType.F16)]
    [TestCase(DType.BF16)]
    [TestCase(DType.F32)]
    public void TheKernelHandlesRaggedShapes(DType dtype)
    {
        // 7 rows (not a multiple of the 4-row tile) x 37 columns (not a multiple of the 16-column panel), rank 3.
        using var weight = Draw(new Shape(7, 37), dtype, 1, 1.0, "w");
        using var a = Draw(new Shape(3, 37), DType.F32, 2, 1.0, "a");
        using var b = Draw(new Shape(7, 3), DType.BF16, 3, 1.0, "b");
        using var merged = LoraMerge.Merge(weight, a, b, 0.75);
        Assert.That(merged.DType, Is.EqualTo(dtype));
        var (wv, av, bv, got) = (weight.ToDoubles(), a.ToDoubles(), b.ToDoubles(), merged.ToDoubles());
        double u = dtype switch { DType.BF16 => Math.Pow(2, -8), DType.F16 => Math.Pow(2, -11), _ => Math.Pow(2, -24) };
        for (int o = 0; o < 7; o++)
        {
            for (int i = 0; i < 37; i++)
            {
                double sum = 0, magnitude = Math.Abs(wv[(o * 37) + i]);
                for (int k = 0; k < 3; k++)
                {
                    sum += bv[(o * 3) + k] * av[(k * 37) + i];
                    magnitude += 0.75 * Math.Abs(bv[(o * 3) + k] * av[(k * 37) + i]);
                }
                double exact = wv[(o * 37) + i] + (0.75 * sum);
                Assert.That(got[(o * 37) + i], Is.EqualTo(exact).Within((u * Math.Abs(exact)) + (12 * Math.Pow(2, -24) * magnitude)), $"[{o}, {i}]");
            }
        }
    }

    [Test]
    public void EveryProblemOfALoraIsNamedAtOnce()
    {
        const int Rank = 4;
        using var w = WanWeights.Random(Config, seed: 33, DType.F32);
        var adapter = Adapter(w, Rank, DType.F32, 300);
        var writer = new TorchCheckpointWriter();
        var entries = new List<(object, object)>();
        void Put(string key, Tensor t) => entries.Add(($"base_model.model.{key}", writer.Add(t)));
        using var wrongIn = Tensor.FromDoubles(new double[Rank * 5], DType.F32, new Shape(Rank, 5), "wrong");
        using var head = Tensor.FromDoubles(new double[Rank * Config.Dim], DType.F32, new Shape(Rank, Config.Dim), "head");
        using var ints = Tensor.FromDoubles(new double[Rank * Config.Dim], DType.I32, new Shape(Rank, Config.Dim), "ints");
        try
        {
            foreach (var (module, (a, b)) in adapter)
            {
                switch (module)
                {
                    case "blocks.0.self_attn.q": // A without its B
                        Put($"{module}.lora_A.weight", a);
                        break;
                    case "blocks.1.self_attn.k": // a kind covered in block 0 but not in block 1
                        break;
                    case "blocks.1.ffn.0": // A's columns do not fit W's input features
                        Put($"{module}.lora_A.weight", wrongIn);
                        Put($"{module}.lora_B.weight", b);
                        break;
                    case "blocks.0.cross_attn.v": // integers
                        Put($"{module}.lora_A.weight", ints);
                        Put($"{module}.lora_B.weight", b);
                        break;
                    default:
                        Put($"{module}.lora_A.weight", a);
                        Put($"{module}.lora_B.weight", b);
                        break;
                }
            }
            Put("head.head.lora_A.weight", head); // not in a block
            Put("blocks.0.norm3.lora_A.weight", head); // a norm, not a Linear
            Put("blocks.0.self_attn.q.lora_magnitude_vector", head); // DoRA: cannot be merged as W + s B A
            string lora = _tmp.File("bad-lora.pt");
            writer.WriteZip(lora, writer.Pickle(new PtDict([.. entries])), "lora");
            string basePath = _tmp.File("base.safetensors");
            w.Save(basePath);

            var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(basePath, Config, options: new CheckpointOptions { Lora = lora }).Dispose())!;
            Assert.That(e.Missing, Is.EquivalentTo(new[]
            {
                "base_model.model.blocks.0.self_attn.q.lora_B.weight",
                "base_model.model.blocks.1.self_attn.k.lora_A.weight",
                "base_model.model.blocks.1.self_attn.k.lora_B.weight",
            }));
            Assert.That(e.Unexpected, Has.Count.EqualTo(3));
            Assert.That(e.Unexpected, Has.Some.StartsWith("base_model.model.head.head.lora_A.weight"));
            Assert.That(e.Unexpected, Has.Some.StartsWith("base_model.model.blocks.0.norm3.lora_A.weight"));
            Assert.That(e.Unexpected, Has.Some.EqualTo("base_model.model.blocks.0.self_attn.q.lora_magnitude_vector"));
            Assert.That(e.Misshaped, Has.Count.EqualTo(2));
            Assert.That(e.Misshaped, Has.Some.Contains("blocks.1.ffn.0.lora_A.weight").And.Contains($"[{Rank}, 5]"));
            Assert.That(e.Misshaped, Has.Some.Contains("blocks.0.cross_attn.v.lora_A.weight").And.Contains("int32").IgnoreCase);
            Assert.That(e.Message, Does.Contain("LoRA " + lora).And.Contain("micro-2"));
        }
        finally
        {
            Dispose(adapter);
        }
    }
}
