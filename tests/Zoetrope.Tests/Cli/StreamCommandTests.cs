using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// <c>zoe stream</c> in-process: the README's main job, its output file, its typed errors, the
/// memory preflight, argument checks made before any work, and output in the CLI's own words.
/// </summary>
[NonParallelizable]
public class StreamCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-stream");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static int Zoe(params string[] args) => Zoetrope.Tests.Cli.Zoe.Exit(args);

    /// <summary>Runs zoe with the preflight's limit set to <paramref name="limit"/> (the environment variable restored after).</summary>
    internal static ZoeRun WithMemoryLimit(string limit, params string[] args)
    {
        const string name = "ZOE_MEMORY_LIMIT";
        string? old = Environment.GetEnvironmentVariable(name);
        try
        {
            Environment.SetEnvironmentVariable(name, limit);
            return Zoetrope.Tests.Cli.Zoe.Run(args);
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, old);
        }
    }

    // A refusal made before any work: exit 2, every expected fragment in the error, and nothing
    // of the run on stdout (no header, no block).
    private static void RefusedUpFront(string[] args, params string[] expected)
    {
        var run = Zoetrope.Tests.Cli.Zoe.Run(["stream", .. args]);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        foreach (var e in expected)
        {
            Assert.That(run.Err, Does.Contain(e), run.ToString());
        }
        Assert.That(run.Out, Does.Not.Contain("zoe stream model").And.Not.Contain("block "), run.ToString());
    }

    [Test]
    public void StreamsTheTinyModelAndWritesLatents()
    {
        string output = _tmp.File("latents.npy");
        Assert.That(Zoe("stream", "--model", "tiny", "--blocks", "2", "--preset", "longlive", "--switch-at", "1", "--out", output), Is.Zero);
        using var latents = Npy.Read(output);
        var c = DiTConfig.Tiny;
        latents.Expect(DType.F32, new Shape(c.LatentChannels, 6, c.LatentHeight, c.LatentWidth));
        Assert.That(latents.ToDoubles().All(double.IsFinite));
    }

    [Test]
    public void TypedErrorsExitTwo()
    {
        Assert.That(Zoe("stream", "--model", "wan-7b"), Is.EqualTo(2));
        Assert.That(Zoe("stream", "--weights", _tmp.File("none.safetensors")), Is.EqualTo(2));
        Assert.That(Zoe("stream", "--attention", "sage", "--dtype", "f32", "--blocks", "1"), Is.EqualTo(2));
        string text = _tmp.File("text.npy");
        using (var wrong = Tensor.FromDoubles(new double[12], DType.F32, new Shape(3, 4), "t"))
        {
            Npy.Write(text, wrong);
        }
        Assert.That(Zoe("stream", "--text", text, "--blocks", "1"), Is.EqualTo(2));
        string ckpt = _tmp.File("micro.safetensors");
        using (var w = WanWeights.Random(Zoetrope.Tests.Engine.EngineTestKit.Micro))
        {
            w.Save(ckpt);
        }
        Assert.That(Zoe("stream", "--weights", ckpt, "--blocks", "1"), Is.EqualTo(2));
    }

    // Finding 3: wan-14b (offered by the help, default backend reference) was OOM-killed after
    // 131 s at 24 GB. On a 24 GiB machine it is refused at once, with the estimate by part, the
    // limit and the way past it, and nothing of the model is drawn or allocated.
    [Test]
    public void Wan14bIsRefusedQuicklyWithTheEstimateBeforeAnythingIsBuilt()
    {
        long hostBefore = Backends.Host.LiveBytes;
        long managedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        var run = WithMemoryLimit("24GiB", "stream", "--model", "wan-14b");
        watch.Stop();
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), run.ToString());
        Assert.That(run.Err, Does.Contain("wan-14b").And.Contain("weights").And.Contain("activations").And.Contain("KV pool")
            .And.Contain("24.0 GiB").And.Contain("--force"), run.ToString());
        Assert.That(run.Out, Does.Contain("memory estimate"), "the estimate line comes first, before the refusal");
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - managedBefore, Is.LessThan(64L << 20), "no weights were drawn");
        Assert.That(Backends.Host.LiveBytes, Is.EqualTo(hostBefore), "no host tensor was allocated");
    }

    [Test]
    public void TheEstimateIsPrintedUpFrontAndForceRunsPastTheLimit()
    {
        var fits = Zoetrope.Tests.Cli.Zoe.Run("stream", "--model", "micro", "--blocks", "1", "--no-profile");
        Assert.That(fits.Exit, Is.Zero, fits.ToString());
        var lines = fits.Out.Split('\n');
        int memory = Array.FindIndex(lines, l => l.Contains("memory estimate", StringComparison.Ordinal));
        int block = Array.FindIndex(lines, l => l.TrimStart().StartsWith("block ", StringComparison.Ordinal));
        Assert.That(memory, Is.GreaterThanOrEqualTo(0).And.LessThan(block), fits.ToString());
        Assert.That(lines[memory], Does.Match(@"memory estimate: [\d.]+ [KMGT]iB"));

        var refused = WithMemoryLimit("1MiB", "stream", "--model", "micro", "--blocks", "1");
        Assert.That(refused.Exit, Is.EqualTo(2), refused.ToString());
        Assert.That(refused.Err, Does.Contain("1.0 MiB").And.Contain("--force"), refused.ToString());
        Assert.That(refused.Out, Does.Not.Contain("block "));

        var forced = WithMemoryLimit("1MiB", "stream", "--model", "micro", "--blocks", "1", "--no-profile", "--force");
        Assert.That(forced.Exit, Is.Zero, forced.ToString());
        Assert.That(forced.Out, Does.Contain("--force"), "says that it runs past the limit");
    }

    // Finding 8: every argument is checked before any work, in CliArgs' wording.
    [Test]
    public void BlocksAndSwitchAtAreCheckedUpFront()
    {
        RefusedUpFront(["--blocks", "0"], "--blocks 0: must be 1 or more");
        RefusedUpFront(["--switch-at", "-1", "--blocks", "2"], "--switch-at -1: must be 0 or more");
        RefusedUpFront(["--switch-at", "5", "--blocks", "2"], "--switch-at 5", "--blocks 2");
        RefusedUpFront(["--switch-at", "2", "--blocks", "2"], "--switch-at 2", "--blocks 2");
        RefusedUpFront(["--switch-text", _tmp.File("x.npy"), "--blocks", "2"], "--switch-text", "--switch-at");
    }

    [Test]
    public void DtypeIsParsedUpFrontListingTheActivationDtypes()
    {
        RefusedUpFront(["--dtype", "f64", "--blocks", "1"], "--dtype f64", "f32", "f16", "bf16");
        var run = Zoetrope.Tests.Cli.Zoe.Run("stream", "--dtype", "f64", "--blocks", "1");
        Assert.That(run.Err, Does.Not.Contain("QuantizedLinear"));
    }

    [Test]
    public void OutIsMadeReadyBeforeAnyWork()
    {
        string nested = Path.Combine(_tmp.Path, "a", "b", "latents.npy");
        var run = Zoetrope.Tests.Cli.Zoe.Run("stream", "--model", "micro", "--blocks", "1", "--no-profile", "--out", nested);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(File.Exists(nested));
        RefusedUpFront(["--model", "micro", "--blocks", "1", "--out", _tmp.Path], "--out", "is a directory");
    }

    [Test]
    public void InputPathsAreCheckedUpFront()
    {
        RefusedUpFront(["--text", _tmp.Path, "--blocks", "1"], "--text", "is a directory");
        RefusedUpFront(["--weights", _tmp.File("none.safetensors"), "--blocks", "1"], "--weights", "no such file");
        RefusedUpFront(["--switch-at", "1", "--switch-text", _tmp.File("none.npy"), "--blocks", "2"], "--switch-text", "no such file");
    }

    // Finding 10: a kernel the help offers must run. Every kernel runs now; what the engine
    // refuses is a combination (Sage's P.V in f32, an INT8 cache under rotate-on-read), refused up
    // front with the engine's reason, before any weight is drawn.
    [Test]
    public void ImpossibleKernelCombosAreRefusedUpFrontWithTheEnginesReason()
    {
        RefusedUpFront(["--attention", "sage", "--dtype", "f32", "--blocks", "1"], "--attention sage", "bf16 or f16");
        RefusedUpFront(["--attention", "sage", "--rope", "relative", "--blocks", "1"], "--kv int8 --rope relative", "rotated once");
        foreach (var verb in new[] { "stream", "profile" })
        {
            var help = Zoetrope.Tests.Cli.Zoe.Run(verb, "--help");
            string attention = help.Out.Split('\n').Single(l => l.TrimStart().StartsWith("--attention", StringComparison.Ordinal));
            Assert.That(attention, Does.Contain("dense").And.Contain("sage-sla").And.Contain("sla"), verb);
        }
    }

    [Test]
    public void ModelHelpListsEveryPreset()
    {
        foreach (var verb in new[] { "stream", "profile" })
        {
            var help = Zoetrope.Tests.Cli.Zoe.Run(verb, "--help");
            string model = help.Out.Split('\n').Single(l => l.TrimStart().StartsWith("--model", StringComparison.Ordinal));
            foreach (var preset in DiTConfig.Presets)
            {
                Assert.That(model, Does.Contain(preset.Name), $"{verb} --help");
            }
        }
    }

    [Test]
    public void HeaderSpeaksTheCliSpellings()
    {
        var run = Zoetrope.Tests.Cli.Zoe.Run("stream", "--model", "micro", "--blocks", "1", "--no-profile", "--linear", "w8a8-block", "--rope", "relative");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("linear w8a8-block").And.Contain("rope relative").And.Contain("attention dense"));
        Assert.That(run.Out, Does.Not.Contain("Int8Block128").And.Not.Contain("CacheRelative").And.Not.Contain("Dense"));
    }

    [Test]
    public void BlockLinesStayAlignedPastFrameNine()
    {
        var run = Zoetrope.Tests.Cli.Zoe.Run("stream", "--model", "micro", "--blocks", "4", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        var blocks = run.Out.Split('\n').Where(l => Regex.IsMatch(l, @"^\s+block\s+\d")).ToArray();
        Assert.That(blocks, Has.Length.EqualTo(4), run.ToString());
        Assert.That(blocks.Select(l => l.IndexOf(" ms", StringComparison.Ordinal)).Distinct().Count(), Is.EqualTo(1), string.Join("\n", blocks));
        Assert.That(blocks.Select(l => l.IndexOf("cache", StringComparison.Ordinal)).Distinct().Count(), Is.EqualTo(1), string.Join("\n", blocks));
    }

    [Test]
    public void BuildingTheModelIsReported()
    {
        var run = Zoetrope.Tests.Cli.Zoe.Run("stream", "--model", "micro", "--blocks", "1", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Match(@"model built in [\d.]+ s"), run.ToString());
        // Ordinal: a culture-aware Contains ignores the escape character and matches any '['.
        Assert.That(run.Out.Contains('\u001b', StringComparison.Ordinal), Is.False, "redirected output carries no live animation (no escape codes)");
    }
}
