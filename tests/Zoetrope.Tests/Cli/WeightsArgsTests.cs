using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// --copy, --use-ema, --lora, --lora-alpha on stream, generate and convert: bad combinations are
/// refused before any work, naming the option; a training checkpoint streams from the copy named,
/// and convert writes the selected, cleaned, merged weights.
/// </summary>
[NonParallelizable]
public sealed class WeightsArgsTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-weights-args");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static DiTConfig Micro => DiTConfig.Micro;

    /// <summary>{generator, generator_ema} of the micro model, the EMA one with FSDP tokens in its block keys.</summary>
    private string TrainingCheckpoint(WanWeights generator, WanWeights ema)
    {
        var writer = new TorchCheckpointWriter();
        PtDict Copy(WanWeights w, bool fsdp) => new(w.Names.Select(n =>
            ((object)("model." + (fsdp ? n.Replace("blocks.", "_fsdp_wrapped_module.blocks.", StringComparison.Ordinal) : n)), (object)writer.Add(w[n]))).ToArray());
        string path = _tmp.File("self_forcing_dmd.pt");
        writer.WriteZip(path, writer.Pickle(new PtDict(("generator", Copy(generator, false)), ("generator_ema", Copy(ema, true))) { Plain = true }), "ckpt");
        return path;
    }

    [TestCase("stream", new[] { "--lora-alpha", "2" }, "--lora-alpha 2: given without --lora")]
    [TestCase("generate", new[] { "--lora-alpha", "2" }, "--lora-alpha 2: given without --lora")]
    [TestCase("stream", new[] { "--use-ema" }, "--use-ema: choose what a checkpoint holds, but there is none (add --weights")]
    [TestCase("generate", new[] { "--copy", "generator", "--lora", "x.pt" }, "--copy --lora: choose what a checkpoint holds")]
    public void OptionsWithoutWhatTheyNeedAreRefused(string verb, string[] args, string message)
    {
        var run = Zoe.Run([verb, "--model", "micro", .. args]);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain(message));
    }

    [Test]
    public void ConflictingCopiesAMissingLoraAndABadAlphaAreRefusedBeforeAnyWork()
    {
        using var w = WanWeights.Random(Micro, seed: 4, DType.BF16);
        string weights = _tmp.File("w.safetensors");
        w.Save(weights);
        var both = Zoe.Run("stream", "--model", "micro", "--weights", weights, "--use-ema", "--copy", "generator");
        Assert.That(both.Exit, Is.EqualTo(2), both.ToString());
        Assert.That(both.Err, Does.Contain("--use-ema --copy generator"));
        var missing = Zoe.Run("generate", "--model", "micro", "--weights", weights, "--lora", _tmp.File("none.pt"));
        Assert.That(missing.Err, Does.Contain("--lora").And.Contain("no such file"));
        var alpha = Zoe.Run("stream", "--model", "micro", "--weights", weights, "--lora", weights, "--lora-alpha", "-1");
        Assert.That(alpha.Err, Does.Contain("--lora-alpha -1: must be a positive number"));
        Assert.That(both.Out + missing.Out + alpha.Out, Does.Not.Contain("model built"));
    }

    [Test]
    public void StreamReadsTheNamedCopyAndRefusesAnAmbiguousFile()
    {
        using var generator = WanWeights.Random(Micro, seed: 5, DType.BF16);
        using var ema = WanWeights.Random(Micro, seed: 6, DType.BF16);
        string ckpt = TrainingCheckpoint(generator, ema);
        var ambiguous = Zoe.Run("stream", "--model", "micro", "--weights", ckpt, "--blocks", "1", "--no-profile");
        Assert.That(ambiguous.Exit, Is.EqualTo(2), ambiguous.ToString());
        Assert.That(ambiguous.Err, Does.Contain("2 copies").And.Contain("generator, generator_ema").And.Contain("--use-ema"));
        var run = Zoe.Run("stream", "--model", "micro", "--weights", ckpt, "--use-ema", "--blocks", "1", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("checkpoint copy: generator_ema"));
    }

    [Test]
    public void ConvertWritesTheSelectedCleanedAndMergedWeights()
    {
        using var generator = WanWeights.Random(Micro, seed: 7, DType.BF16);
        using var ema = WanWeights.Random(Micro, seed: 8, DType.F32);
        string ckpt = TrainingCheckpoint(generator, ema);
        string copyOut = _tmp.File("ema.safetensors");
        var run = Zoe.Run("convert", ckpt, copyOut, "--use-ema");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain($"wrote {ema.Names.Count()} tensors").And.Contain("left out"));
        using (var written = SafeTensorsFile.Open(copyOut))
        {
            Assert.That(written.Names, Is.EquivalentTo(ema.Names), "flat model keys, FSDP tokens gone");
            using var loaded = WanWeights.Load(copyOut, Micro);
            foreach (var name in ema.Names)
            {
                Assert.That(loaded[name].ToBytes(), Is.EqualTo(ema[name].ToBytes()), name);
            }
        }

        // A rank-2 LoRA on one kind of module in the only block: the merged weight is W + B @ A (scale 2 / 2).
        using var a = Tensor.FromDoubles(Enumerable.Range(0, 2 * Micro.Dim).Select(i => (i % 5) * 0.25).ToArray(), DType.F32, new Shape(2, Micro.Dim), "a");
        using var b = Tensor.FromDoubles(Enumerable.Range(0, Micro.Dim * 2).Select(i => (i % 3) * 0.5).ToArray(), DType.F32, new Shape(Micro.Dim, 2), "b");
        string lora = _tmp.File("lora.safetensors");
        SafeTensorsWriter.Write(lora, [new("base_model.model.blocks.0.self_attn.o.lora_A.weight", a), new("base_model.model.blocks.0.self_attn.o.lora_B.weight", b)]);
        string mergedOut = _tmp.File("merged.safetensors");
        var merge = Zoe.Run("convert", ckpt, mergedOut, "--copy", "generator_ema", "--lora", lora, "--lora-alpha", "2");
        Assert.That(merge.Exit, Is.Zero, merge.ToString());
        Assert.That(merge.Out, Does.Contain("merged into 1 linear weights: rank 2, alpha 2, scale 1"));
        using var merged = WanWeights.Load(mergedOut, Micro);
        using var expected = LoraMerge.Merge(ema["blocks.0.self_attn.o.weight"], a, b, 1.0);
        Assert.That(merged["blocks.0.self_attn.o.weight"].ToBytes(), Is.EqualTo(expected.ToBytes()));
        Assert.That(merged["blocks.0.self_attn.q.weight"].ToBytes(), Is.EqualTo(ema["blocks.0.self_attn.q.weight"].ToBytes()));

        var withPrefix = Zoe.Run("convert", ckpt, _tmp.File("x.safetensors"), "--prefix", "generator.", "--use-ema");
        Assert.That(withPrefix.Err, Does.Contain("--prefix generator. with --copy"));
    }
}
