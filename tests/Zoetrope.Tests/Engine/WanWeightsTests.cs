// The checkpoint loader on files the tests write themselves: a round trip (with a nesting
// prefix), then each kind of bad file must give the typed error that names the problem.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class WanWeightsTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-weights");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static DiTConfig Config => EngineTestKit.Micro;

    private static WanWeights Random(DType dtype = DType.BF16) => WanWeights.Random(Config, seed: 11, dtype);

    [TestCase("")]
    [TestCase("model.")]
    [TestCase("generator_ema.model.")]
    public void RoundTripsWithAnyPrefix(string prefix)
    {
        using var w = Random();
        string path = _tmp.File("ckpt.safetensors");
        w.Save(path, prefix);
        using var loaded = WanWeights.Load(path, Config);
        foreach (var name in w.Names)
        {
            Assert.That(loaded[name].ToBytes().AsSpan().SequenceEqual(w[name].ToBytes()), name);
            Assert.That(loaded[name].DType, Is.EqualTo(DType.BF16));
        }
    }

    [Test]
    public void RandomWeightsAreSeededAndPerKey()
    {
        using var a = WanWeights.Random(Config, 5);
        using var b = WanWeights.Random(Config, 5);
        using var c = WanWeights.Random(Config, 6);
        static bool Same(Tensor x, Tensor y) => x.ToBytes().AsSpan().SequenceEqual(y.ToBytes());
        Assert.That(Same(a["blocks.0.ffn.0.weight"], b["blocks.0.ffn.0.weight"]));
        Assert.That(Same(a["blocks.0.ffn.0.weight"], c["blocks.0.ffn.0.weight"]), Is.False);
        Assert.That(Same(a["blocks.0.self_attn.q.weight"], a["blocks.0.self_attn.k.weight"]), Is.False);
    }

    [Test]
    public void MissingUnexpectedAndMisshapedKeysAreAllNamed()
    {
        using var w = Random(DType.F32);
        var tensors = w.Names.Where(n => n != "blocks.0.norm3.bias").ToDictionary(n => "model." + n, n => w[n]);
        using var wrongShape = Tensor.FromDoubles(new double[7], DType.F32, new Shape(7), "bad");
        tensors["model.head.head.bias"] = wrongShape;
        using var extra = Tensor.FromDoubles(new double[2], DType.F32, new Shape(2), "extra");
        tensors["model.img_emb.proj.weight"] = extra;
        string path = _tmp.File("bad.safetensors");
        SafeTensorsWriter.Write(path, tensors);
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, Config))!;
        Assert.That(e.Missing, Is.EqualTo(new[] { "model.blocks.0.norm3.bias" }));
        Assert.That(e.Unexpected, Is.EqualTo(new[] { "model.img_emb.proj.weight" }));
        Assert.That(e.Misshaped.Single(), Does.Contain("model.head.head.bias").And.Contain("[64]").And.Contain("[7]"));
        Assert.That(e.Message, Does.Contain(path).And.Contain("micro"));
    }

    [Test]
    public void AWrongDtypeIsNamed()
    {
        using var w = Random(DType.F32);
        var tensors = w.Names.ToDictionary(n => n, n => w[n]);
        using var ints = Tensor.FromDoubles(new double[Config.Dim], DType.I32, new Shape(Config.Dim), "ints");
        tensors["blocks.0.norm3.weight"] = ints;
        string path = _tmp.File("dtype.safetensors");
        SafeTensorsWriter.Write(path, tensors);
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, Config))!;
        Assert.That(e.Misshaped.Single(), Does.Contain("blocks.0.norm3.weight").And.Contain("I32").IgnoreCase);
    }

    [Test]
    public void ATruncatedFileNamesTheFileAndOffset()
    {
        using var w = Random();
        string path = _tmp.File("cut.safetensors");
        w.Save(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 100)]);
        var e = Assert.Throws<ZoetropeFormatException>(() => WanWeights.Load(path, Config))!;
        Assert.That(e.File, Is.EqualTo(path));
        Assert.That(e.Message, Does.Contain("byte"));
    }

    [Test]
    public void AnotherPresetsCheckpointIsRefusedByName()
    {
        using var w = Random();
        string path = _tmp.File("micro.safetensors");
        w.Save(path);
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, DiTConfig.Tiny))!;
        Assert.That(e.Misshaped, Has.Some.Contains("patch_embedding.weight"));
        Assert.That(e.Missing, Has.Some.StartsWith("blocks.1."));
    }
}
