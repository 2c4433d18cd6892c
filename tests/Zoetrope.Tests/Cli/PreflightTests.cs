using System.Diagnostics;
using NUnit.Framework;
using Spectre.Console;
using Zoetrope.Cli.Commands;
using Zoetrope.Cli.Preflight;
using Zoetrope.Cli.Reporting;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// The memory estimate against what the engine really allocates, the preflight's limit and
/// sizes, the log-friendly progress lines, and the two-way CLI spellings.
/// </summary>
public class PreflightTests
{
    private static readonly ModelOptions CpuF32 = new() { Activations = DType.F32 };

    [Test]
    public void TheEstimateOrdersTheModelsAndTinyFits()
    {
        var totals = DiTConfig.Presets.ToDictionary(c => c.Name, c => MemoryEstimate.For(c, CpuF32, StreamOptions.LongLive, BackendKind.Reference).HostBytes);
        Assert.That(totals["micro"], Is.LessThan(totals["tiny"]));
        Assert.That(totals["tiny"], Is.LessThan(totals["wan-1.3b"]));
        Assert.That(totals["wan-1.3b"], Is.LessThan(totals["wan-14b"]));
        Assert.That(totals["tiny"], Is.LessThan(128L << 20), "tiny is a CPU demo: it fits anywhere");
        // wan-14b in f32 on the host: two copies of 14 G parameters alone are over 100 GiB.
        Assert.That(totals["wan-14b"], Is.GreaterThan(100L << 30));
    }

    [Test]
    public void QuantizedPathsAndBf16ShrinkWhatTheGpuHolds()
    {
        var c = DiTConfig.Wan14B;
        MemoryEstimate On(LinearPath path) => MemoryEstimate.For(c, new ModelOptions { Activations = DType.BF16, Linear = path }, StreamOptions.LongLive, BackendKind.Cuda);
        var bf16 = On(LinearPath.Bf16);
        Assert.That(On(LinearPath.Int8).BackendWeights, Is.LessThan(bf16.BackendWeights * 6 / 10), "INT8 block linears are half of bf16, the bulk of the model");
        Assert.That(On(LinearPath.Int8).DeviceBytes, Is.LessThan(bf16.DeviceBytes));
        Assert.That(On(LinearPath.Fp8).BackendWeights, Is.EqualTo(On(LinearPath.Int8).BackendWeights), "FP8 codes and per-channel scales weigh what INT8's do");
        var f32 = MemoryEstimate.For(c, new ModelOptions { Activations = DType.F32 }, StreamOptions.LongLive, BackendKind.Cuda);
        Assert.That(bf16.DeviceBytes, Is.LessThan(f32.DeviceBytes * 65 / 100), "bf16 halves weights, activations and the KV pool (f32 scales, biases and the context stay)");
        var gpu = MemoryEstimate.For(c, new ModelOptions { Activations = DType.BF16 }, StreamOptions.LongLive, BackendKind.Cuda);
        Assert.That(gpu.BackendIsHost, Is.False);
        Assert.That(gpu.HostBytes, Is.LessThan(gpu.MasterWeights + (4L << 30)), "on a GPU the host holds the master copy, not the model");
    }

    [Test]
    public void TheKvPoolIsTheCachesOwnSize()
    {
        var c = DiTConfig.Wan1_3B;
        var absolute = MemoryEstimate.For(c, CpuF32, StreamOptions.LongLive, BackendKind.Reference);
        Assert.That(absolute.KvPool, Is.EqualTo(KvCache.PoolBytes(c, 12, DType.F32)));
        var relative = MemoryEstimate.For(c, CpuF32, StreamOptions.LongLive with { Rope = RopePolicy.CacheRelative }, BackendKind.Reference);
        Assert.That(relative.KvPool, Is.EqualTo(KvCache.PoolBytes(c, 12, DType.F32) * 3 / 2), "plus every layer's rotated-read keys (rotated once per block, not per forward)");
    }

    // The tensors the estimate counts are the ones the engine allocates: the weights exactly, and
    // the whole run (block scratch, prompt K/V, activation codes, KV pool, a prompt switch once
    // the cache is full) within 10%, never under.
    [TestCase("micro", LinearPath.Bf16, false)]
    [TestCase("micro", LinearPath.Int8, true)]
    [TestCase("micro", LinearPath.Int8Block128, false)]
    [TestCase("micro", LinearPath.Fp8, true)]
    [TestCase("micro", LinearPath.Bf16, true)]
    [TestCase("tiny", LinearPath.Bf16, false)]
    public void TheEstimateMatchesWhatTheBackendAllocates(string modelName, LinearPath path, bool promptSwitch)
    {
        var config = DiTConfig.Get(modelName);
        var options = new ModelOptions { Activations = DType.F32, Linear = path };
        var stream = StreamOptions.LongLive;
        var estimate = MemoryEstimate.For(config, options, stream, BackendKind.Reference, promptSwitch: promptSwitch);
        // A backend of its own, so the master weights (on the shared host backend) stay out of its count.
        using var backend = Backends.Create(BackendKind.Reference);
        using var weights = WanWeights.Random(config, 7);
        using var model = new WanModel(backend, weights, options);
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.BackendWeights), "weights as the model holds them");
        using var text = GaussianNoise.Sample(3, new Shape(config.TextTokens, config.TextDim), "text");
        using var session = new StreamingSession(model, text, stream);
        int blocks = promptSwitch ? stream.BlocksToFillCache + 1 : 1;
        for (int b = 0; b < blocks; b++)
        {
            if (promptSwitch && b == blocks - 1)
            {
                using var second = GaussianNoise.Sample(4, new Shape(config.TextTokens, config.TextDim), "text2");
                session.SwitchPrompt(second);
            }
            session.GenerateBlock();
        }
        Assert.That(estimate.BackendTensorBytes, Is.InRange(backend.PeakBytes, backend.PeakBytes * 1.10),
            $"estimated {estimate.BackendTensorBytes} vs allocated {backend.PeakBytes}");
    }

    [Test]
    public void SizesParseInBothUnitFamiliesAndRefuseTheRest()
    {
        Assert.That(MemoryPreflight.ParseSize("24GiB", "X"), Is.EqualTo(24L << 30));
        Assert.That(MemoryPreflight.ParseSize("1.5 GB", "X"), Is.EqualTo(1_500_000_000L));
        Assert.That(MemoryPreflight.ParseSize("512m", "X"), Is.EqualTo(512L << 20));
        Assert.That(MemoryPreflight.ParseSize("1234", "X"), Is.EqualTo(1234));
        var e = Assert.Throws<ArgumentException>(() => MemoryPreflight.ParseSize("lots", MemoryPreflight.LimitVariable))!;
        Assert.That(e.Message, Does.Contain("ZOE_MEMORY_LIMIT lots").And.Contain("24GiB"));
        Assert.That(MemoryPreflight.Bytes(24L << 30), Is.EqualTo("24.0 GiB"));
        Assert.That(MemoryPreflight.Bytes(1536L << 10), Is.EqualTo("1.5 MiB"));
    }

    [Test]
    public void TheHostLimitIsWhatTheMachineReportsOrTheVariable()
    {
        var (bytes, source) = MemoryPreflight.HostAvailable();
        Assert.That(bytes, Is.GreaterThan(0));
        Assert.That(source, Is.Not.Empty);
        string? old = Environment.GetEnvironmentVariable(MemoryPreflight.LimitVariable);
        try
        {
            Environment.SetEnvironmentVariable(MemoryPreflight.LimitVariable, "3GiB");
            var limit = MemoryPreflight.Detect(Backends.Host);
            Assert.That(limit.HostBytes, Is.EqualTo(3L << 30));
            Assert.That(limit.HostSource, Does.Contain(MemoryPreflight.LimitVariable));
        }
        finally
        {
            Environment.SetEnvironmentVariable(MemoryPreflight.LimitVariable, old);
        }
    }

    // Redirected output gets plain lines, only for slow work, and not too many of them.
    [Test]
    public void PlainProgressIsQuietForQuickWorkAndThrottledForSlowWork()
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer), Ansi = AnsiSupport.No, Interactive = InteractionSupport.No });
        Assert.That(WorkProgress.Live(console), Is.False);
        using var progress = new PlainProgress(console, "drawing random weights", new Stopwatch());
        progress.Report(0.1);
        Assert.That(progress.Tick(TimeSpan.FromSeconds(2)), Is.False, "quick work prints nothing");
        progress.Report(0.4);
        Assert.That(progress.Tick(TimeSpan.FromSeconds(6)), Is.True);
        Assert.That(progress.Tick(TimeSpan.FromSeconds(9)), Is.False, "at most one line per interval");
        progress.Report(0.7);
        Assert.That(progress.Tick(TimeSpan.FromSeconds(17)), Is.True);
        progress.Dispose();
        Assert.That(progress.Tick(TimeSpan.FromSeconds(60)), Is.False, "nothing after the work ends");
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.EqualTo(new[] { "  drawing random weights: 40% (6 s)", "  drawing random weights: 70% (17 s)" }));
    }

    // Finding 10: the header printed enum names. Each spelling parses to a value that prints back as the same spelling.
    [Test]
    public void SpellingsRoundTrip()
    {
        foreach (var linear in new[] { "bf16", "w8a8", "w8a8-block", "fp8" })
        {
            Assert.That(EngineArgs.Label(EngineArgs.Linear(linear)), Is.EqualTo(linear));
        }
        foreach (var attention in new[] { "dense", "sla" })
        {
            Assert.That(EngineArgs.Label(EngineArgs.Attention(attention)), Is.EqualTo(attention));
        }
        Assert.That(EngineArgs.Label(EngineArgs.Rope("relative")), Is.EqualTo("relative"));
        Assert.That(EngineArgs.Label(EngineArgs.Rope("cache-relative")), Is.EqualTo("relative"));
        Assert.That(EngineArgs.Label(EngineArgs.Rope("absolute")), Is.EqualTo("absolute"));
        Assert.That(ProfileCommand.Figure(0.0001234), Is.EqualTo("0.0001234"));
        Assert.That(ProfileCommand.Figure(185.8), Is.EqualTo("185.8"));
        Assert.That(ProfileCommand.Figure(0), Is.EqualTo("0"));
    }
}
