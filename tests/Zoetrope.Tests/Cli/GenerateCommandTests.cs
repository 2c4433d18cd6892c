using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// <c>zoe generate</c> in-process: bit-for-bit determinism from files (the issue's command), its
/// latents against the library's generator, where the noise came from, the refusals made before
/// any work; and <c>zoe stream --noise</c>.
/// </summary>
[NonParallelizable]
public class GenerateCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-generate");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static DiTConfig Tiny => DiTConfig.Tiny;

    private string WriteNpy(string name, float[] values, Shape shape)
    {
        string path = _tmp.File(name);
        using var t = Tensor.FromArray(values, shape, name);
        Npy.Write(path, t);
        return path;
    }

    private static float[] Draws(ulong seed, int count, int length)
    {
        var values = new float[count * length];
        for (int i = 0; i < count; i++)
        {
            GaussianNoise.For(seed, 100 + i, 0).Fill(values.AsSpan(i * length, length));
        }
        return values;
    }

    // The files of the issue's command: a checkpoint, a prompt embedding, the initial noise.
    private (string Weights, string Text, string Noise) Inputs(int frames)
    {
        string weights = _tmp.File("w.safetensors");
        using (var w = WanWeights.Random(Tiny, 21))
        {
            w.Save(weights);
        }
        string text = WriteNpy("t.npy", Draws(3, 1, 7 * Tiny.TextDim), new Shape(7, Tiny.TextDim));
        string noise = WriteNpy("n.npy", Draws(4, 1, frames * Tiny.FrameLatents), new Shape(Tiny.LatentChannels, frames, Tiny.LatentHeight, Tiny.LatentWidth));
        return (weights, text, noise);
    }

    // A refusal made before any work: exit 2, every expected fragment in the error, no header on stdout.
    private static void RefusedUpFront(string verb, string[] args, params string[] expected)
    {
        var run = Zoe.Run([verb, .. args]);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        foreach (var e in expected)
        {
            Assert.That(run.Err, Does.Contain(e), run.ToString());
        }
        Assert.That(run.Out, Does.Not.Contain($"zoe {verb} model").And.Not.Contain("memory estimate"), run.ToString());
    }

    [Test]
    public void GenerateFromFilesIsBitForBitDeterministicAndIsTheLibrarysGeneration()
    {
        const int frames = 4;
        var (weights, text, noise) = Inputs(frames);
        string first = _tmp.File("x1.npy"), second = _tmp.File("x2.npy");
        string[] common = ["generate", "--model", "tiny", "--weights", weights, "--text", text, "--noise", noise, "--frames", "4", "--steps", "3"];
        var run = Zoe.Run([.. common, "--out", first]);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(Zoe.Run([.. common, "--out", second]).Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(second), Is.EqualTo(File.ReadAllBytes(first)), "two runs, the same bytes");

        // The report: where the noise came from, the steps, the frames and tokens.
        Assert.That(run.Out, Does.Contain($"noise: initial from {noise}, re-noise from seed 42"), run.ToString());
        Assert.That(run.Out, Does.Contain($"{frames} latent frames ({(4 * frames) - 3} video frames, {frames * Tiny.FrameTokens} tokens per forward), 3 steps"), run.ToString());
        Assert.That(run.Out, Does.Match(@"generation \(DiT only, all steps\)\s+[\d.]+ s"), run.ToString());
        Assert.That(run.Out, Does.Contain("memory estimate"));

        // The file is what the library makes from the same weights, prompt and noise.
        using var latents = Npy.Read(first);
        latents.Expect(DType.F32, new Shape(Tiny.LatentChannels, frames, Tiny.LatentHeight, Tiny.LatentWidth));
        using var w = WanWeights.Load(weights, Tiny);
        using var model = new WanModel(Backends.Get("reference"), w, new ModelOptions { Activations = DType.F32 });
        using var prompt = Npy.Read(text);
        using var n = Npy.Read(noise);
        var options = new GenerateOptions { Frames = frames, Timesteps = StreamOptions.Warp(GenerateOptions.EvenTimesteps(3), 5), Seed = 42 };
        var expected = new OneShotGenerator(model, options, NoiseTable.ForGenerate(n, noise, null, null, Tiny, frames, 3, new SeededNoise(42))).Generate(prompt);
        Assert.That(latents.ToArray<float>(), Is.EqualTo(expected.Latents));
    }

    [Test]
    public void RenoiseFromAFileIsUsedAndSaid()
    {
        const int frames = 2;
        var (weights, text, noise) = Inputs(frames);
        var shape = new Shape(1, Tiny.LatentChannels, frames, Tiny.LatentHeight, Tiny.LatentWidth);
        string renoise = WriteNpy("r.npy", Draws(5, 1, frames * Tiny.FrameLatents), shape);
        string[] common = ["generate", "--weights", weights, "--text", text, "--noise", noise, "--frames", "2", "--timesteps", "1000,500"];
        string withFile = _tmp.File("with.npy"), withSeed = _tmp.File("seed.npy");
        var run = Zoe.Run([.. common, "--renoise", renoise, "--out", withFile]);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain($"re-noise from {renoise}"));
        Assert.That(Zoe.Run([.. common, "--out", withSeed]).Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(withFile), Is.Not.EqualTo(File.ReadAllBytes(withSeed)), "the re-noise file changed the second step's input");
        // One step: nothing is re-noised, and the header says so.
        var one = Zoe.Run("generate", "--weights", weights, "--text", text, "--noise", noise, "--frames", "2", "--steps", "1");
        Assert.That(one.Exit, Is.Zero, one.ToString());
        Assert.That(one.Out, Does.Contain("no re-noise (one step)"));
    }

    [Test]
    public void BadArgumentsAndNoiseFilesAreRefusedBeforeAnyWork()
    {
        const int frames = 3;
        var (_, _, noise) = Inputs(frames);
        RefusedUpFront("generate", ["--noise", noise, "--frames", "4"], noise, "[16, 4, 8, 8]", "f32[16, 3, 8, 8]");
        string shortRenoise = WriteNpy("r1.npy", Draws(5, 1, frames * Tiny.FrameLatents), new Shape(1, Tiny.LatentChannels, frames, Tiny.LatentHeight, Tiny.LatentWidth));
        RefusedUpFront("generate", ["--noise", noise, "--renoise", shortRenoise, "--frames", "3", "--steps", "4"], shortRenoise, "steps - 1 >= 3", "f32[1, 16, 3, 8, 8]");
        RefusedUpFront("generate", ["--renoise", shortRenoise], "--renoise", "needs --noise");
        RefusedUpFront("generate", ["--frames", "0"], "--frames 0: must be 1 or more");
        RefusedUpFront("generate", ["--steps", "0"], "--steps 0: must be 1 or more");
        RefusedUpFront("generate", ["--timesteps", "1000,1000"], "--timesteps 1000,1000", "must decrease");
        RefusedUpFront("generate", ["--timesteps", "1000,x"], "'x' is not a timestep");
        RefusedUpFront("generate", ["--timesteps", "1000,500", "--steps", "3"], "--steps 3", "has 2");
        RefusedUpFront("generate", ["--shift", "0"], "--shift 0");
        RefusedUpFront("generate", ["--noise", _tmp.File("none.npy")], "--noise", "no such file");
        RefusedUpFront("generate", ["--out", _tmp.Path], "--out", "is a directory");
        var refused = StreamCommandTests.WithMemoryLimit("1MiB", "generate", "--model", "tiny");
        Assert.That(refused.Exit, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Err, Does.Contain("zoe generate --model tiny --frames 21 on reference needs about").And.Contain("--force"));
    }

    [Test]
    public void StreamTakesItsNoiseFromAFileAndRefusesTooFewBlocksOrSteps()
    {
        // longlive: 3-frame blocks, 4 steps. A file of the seeded draws gives the seeded stream.
        const int blocks = 2, steps = 4, f = 3;
        int n = f * Tiny.FrameLatents;
        var draws = new float[blocks * steps * n];
        for (int b = 0; b < blocks; b++)
        {
            for (int s = 0; s < steps; s++)
            {
                GaussianNoise.For(42, b, s).Fill(draws.AsSpan(((b * steps) + s) * n, n));
            }
        }
        string noise = WriteNpy("stream.npy", draws, new Shape(blocks, steps, Tiny.LatentChannels, f, Tiny.LatentHeight, Tiny.LatentWidth));
        string fromFile = _tmp.File("file.npy"), fromSeed = _tmp.File("seed.npy");
        var run = Zoe.Run("stream", "--model", "tiny", "--blocks", "2", "--no-profile", "--noise", noise, "--out", fromFile);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain($"noise from {noise}"));
        Assert.That(Zoe.Run("stream", "--model", "tiny", "--blocks", "2", "--no-profile", "--out", fromSeed).Exit, Is.Zero);
        Assert.That(File.ReadAllBytes(fromFile), Is.EqualTo(File.ReadAllBytes(fromSeed)));

        RefusedUpFront("stream", ["--model", "tiny", "--blocks", "3", "--noise", noise], noise, "[blocks >= 3, steps >= 4, 16, 3, 8, 8]", "f32[2, 4, 16, 3, 8, 8]");
        string fewSteps = WriteNpy("few.npy", draws[..(blocks * 3 * n)], new Shape(blocks, 3, Tiny.LatentChannels, f, Tiny.LatentHeight, Tiny.LatentWidth));
        RefusedUpFront("stream", ["--model", "tiny", "--blocks", "2", "--noise", fewSteps], fewSteps, "steps >= 4", "f32[2, 3, 16, 3, 8, 8]");
        RefusedUpFront("stream", ["--model", "micro", "--blocks", "1", "--noise", noise], noise, "model 'micro'");
    }

    [Test]
    public void GenerateIsAVerbWithItsOptions()
    {
        var help = Zoe.Run("--help");
        Assert.That(help.Out, Does.Contain("generate"));
        var verb = Zoe.Run("generate", "--help");
        foreach (var option in new[] { "--model", "--weights", "--text", "--frames", "--steps", "--timesteps", "--shift", "--seed", "--noise", "--renoise", "--backend", "--dtype", "--linear", "--attention", "--out", "--force" })
        {
            Assert.That(verb.Out, Does.Contain(option), option);
        }
    }
}
