// Training checkpoints as Self-Forcing and LongLive publish them: {generator, generator_ema,
// critic} in one .pt, keys that may carry FSDP / activation-checkpointing / torch.compile tokens.
// The copy is read by name, an ambiguous file is refused naming its copies, and keys outside the
// chosen copy are ignored.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class CheckpointCopiesTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-copies");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static DiTConfig Config => EngineTestKit.Micro;

    /// <summary>A state dict of <paramref name="w"/> as Self-Forcing's WanDiffusionWrapper holds it (under <c>model.</c>), each key through <paramref name="rename"/>.</summary>
    private static PtDict Copy(TorchCheckpointWriter writer, WanWeights w, Func<string, string>? rename = null) =>
        new(w.Names.Select(n => ((object)(rename ?? (k => k))("model." + n), (object)writer.Add(w[n]))).ToArray());

    private string Write(TorchCheckpointWriter writer, params (object Key, object Value)[] root)
    {
        string path = _tmp.File("checkpoint.pt");
        writer.WriteZip(path, writer.Pickle(new PtDict(root) { Plain = true }), "checkpoint");
        return path;
    }

    private static void AssertSame(WanWeights expected, WanWeights actual)
    {
        foreach (var name in expected.Names)
        {
            Assert.That(actual[name].ToBytes(), Is.EqualTo(expected[name].ToBytes()), name);
        }
    }

    /// <summary>generator and generator_ema with different values, and a critic (a Wan copy of its own, as Self-Forcing's fake score is).</summary>
    private (string Path, WanWeights Generator, WanWeights Ema) TrainingCheckpoint()
    {
        var generator = WanWeights.Random(Config, seed: 21, DType.BF16);
        var ema = WanWeights.Random(Config, seed: 22, DType.F32);
        using var critic = WanWeights.Random(Config, seed: 23, DType.BF16);
        var writer = new TorchCheckpointWriter();
        string path = Write(writer,
            ("generator", Copy(writer, generator)),
            ("critic", Copy(writer, critic)),
            ("generator_ema", Copy(writer, ema)),
            ("step", 600L));
        return (path, generator, ema);
    }

    [Test]
    public void TheNamedCopyIsRead()
    {
        var (path, generator, ema) = TrainingCheckpoint();
        using (generator)
        using (ema)
        {
            using var fromEma = WanWeights.Load(path, Config, options: CheckpointOptions.UseEma);
            Assert.That(fromEma.Copy, Is.EqualTo("generator_ema"));
            Assert.That(fromEma["blocks.0.ffn.0.weight"].DType, Is.EqualTo(DType.F32));
            AssertSame(ema, fromEma);
            using var fromGenerator = WanWeights.Load(path, Config, options: new CheckpointOptions { Copy = "generator" });
            Assert.That(fromGenerator.Copy, Is.EqualTo("generator"));
            AssertSame(generator, fromGenerator);
            Assert.That(fromGenerator["blocks.0.ffn.0.weight"].ToBytes(), Is.Not.EqualTo(fromEma["blocks.0.ffn.0.weight"].ToBytes()));
        }
    }

    [Test]
    public void SeveralCopiesAndNoChoiceAreRefusedNamingThem()
    {
        var (path, generator, ema) = TrainingCheckpoint();
        generator.Dispose();
        ema.Dispose();
        var e = Assert.Throws<ZoetropeCheckpointException>(() => WanWeights.Load(path, Config).Dispose())!;
        Assert.That(e.Copies, Is.EqualTo(new[] { "generator", "critic", "generator_ema" }));
        Assert.That(e.Message, Does.Contain(path).And.Contain("3 copies").And.Contain("--copy NAME").And.Contain("--use-ema"));
    }

    [Test]
    public void AnUnknownCopyIsRefusedNamingTheOnesThatExist()
    {
        var (path, generator, ema) = TrainingCheckpoint();
        generator.Dispose();
        ema.Dispose();
        var e = Assert.Throws<ZoetropeCheckpointException>(() => WanWeights.Load(path, Config, options: new CheckpointOptions { Copy = "ema" }).Dispose())!;
        Assert.That(e.Message, Does.Contain("no copy 'ema'").And.Contain("generator, critic, generator_ema"));
    }

    [Test]
    public void ACopyNameOnAFlatFileIsRefused()
    {
        using var w = WanWeights.Random(Config, seed: 2, DType.BF16);
        string path = _tmp.File("flat.safetensors");
        w.Save(path);
        var e = Assert.Throws<ZoetropeCheckpointException>(() => WanWeights.Load(path, Config, options: CheckpointOptions.UseEma).Dispose())!;
        Assert.That(e.Copies, Is.Empty);
        Assert.That(e.Message, Does.Contain("no copy 'generator_ema'").And.Contain("flat keys"));
        using var loaded = WanWeights.Load(path, Config);
        Assert.That(loaded.Copy, Is.Null);
    }

    [Test]
    public void KeysOutsideTheNamedCopyAreIgnoredAndInsideItChecked()
    {
        using var ema = WanWeights.Random(Config, seed: 22, DType.F32);
        using var extra = Tensor.FromDoubles([1, 2], DType.F32, new Shape(2), "extra");
        var writer = new TorchCheckpointWriter();
        // The critic is not a Wan copy here (no anchor), so it would be unexpected in a file read without a choice.
        var inner = Copy(writer, ema).Items.Where(i => (string)i.Key != "model.blocks.0.norm3.bias").Append(("model.img_emb.proj.weight", writer.Add(extra))).ToArray();
        string path = Write(writer,
            ("critic", new PtDict(("head.weight", writer.Add(extra)))),
            ("generator_ema", new PtDict(inner)));
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, Config, options: CheckpointOptions.UseEma).Dispose())!;
        Assert.That(e.Missing, Is.EqualTo(new[] { "generator_ema.model.blocks.0.norm3.bias" }));
        Assert.That(e.Unexpected, Is.EqualTo(new[] { "generator_ema.model.img_emb.proj.weight" }));

        // The same file without the stray keys loads; read without a choice, the critic is reported.
        writer = new TorchCheckpointWriter();
        path = Write(writer, ("critic", new PtDict(("head.weight", writer.Add(extra)))), ("generator_ema", Copy(writer, ema)));
        using (var loaded = WanWeights.Load(path, Config, options: CheckpointOptions.UseEma))
        {
            AssertSame(ema, loaded);
        }
        var implied = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, Config).Dispose())!;
        Assert.That(implied.Unexpected, Is.EqualTo(new[] { "critic.head.weight" }));
    }

    [Test]
    public void WrapperTokensAreRemovedFromKeys()
    {
        using var ema = WanWeights.Random(Config, seed: 24, DType.F32);
        var writer = new TorchCheckpointWriter();
        // LongLive's EMA path (FSDP wraps each block) and Self-Forcing's training names (checkpoint wrapper, torch.compile).
        static string Wrapped(string key) => key
            .Replace("model.blocks.", "model._fsdp_wrapped_module.blocks.", StringComparison.Ordinal)
            .Replace(".self_attn.", "._fsdp_wrapped_module._checkpoint_wrapped_module.self_attn.", StringComparison.Ordinal)
            .Replace("model.head.", "model._orig_mod.head.", StringComparison.Ordinal);
        string path = Write(writer, ("generator", Copy(writer, ema)), ("generator_ema", Copy(writer, ema, Wrapped)));
        using var loaded = WanWeights.Load(path, Config, options: CheckpointOptions.UseEma);
        AssertSame(ema, loaded);
        Assert.That(CheckpointSelection.Clean("generator_ema._fsdp_wrapped_module.model._orig_mod.blocks.3._checkpoint_wrapped_module.ffn.0.weight"),
            Is.EqualTo("generator_ema.model.blocks.3.ffn.0.weight"));
    }

    [Test]
    public void TwoKeysThatCleanToOneAreRefusedNamingBoth()
    {
        using var w = WanWeights.Random(Config, seed: 25, DType.F32);
        var writer = new TorchCheckpointWriter();
        var items = Copy(writer, w).Items.Append(("model._orig_mod.head.head.bias", writer.Add(w["head.head.bias"]))).ToArray();
        string path = Write(writer, ("generator_ema", new PtDict(items)));
        var e = Assert.Throws<ZoetropeCheckpointException>(() => WanWeights.Load(path, Config, options: CheckpointOptions.UseEma).Dispose())!;
        Assert.That(e.Message, Does.Contain("'generator_ema.model.head.head.bias' and 'generator_ema.model._orig_mod.head.head.bias'"));
    }
}
