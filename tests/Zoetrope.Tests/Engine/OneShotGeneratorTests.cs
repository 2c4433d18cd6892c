// One-shot generation against a hand-written loop over WanModel.Forward with full-sequence,
// unmasked attention; noise from files against noise from the seed (one-shot and streaming);
// the sampler equations as the stream applies them; the refusals of bad noise; and the memory
// estimate of a one-shot run against what the backend allocates.
using NUnit.Framework;
using Zoetrope.Attention.Flash;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class OneShotGeneratorTests
{
    private static readonly double[] ThreeSteps = StreamOptions.Warp([1000, 750, 400], 3);

    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-oneshot");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    // The loop as the issue states it, written out without FlowSampler or the noise sources:
    // x = N(seed, 0, 0); v = Forward(x, t_i every frame, mask none); x0 = x - s v;
    // x = (1 - s') x0 + s' N(seed, 0, i + 1).
    private static float[] HandWrittenLoop(WanModel model, TextContext prompt, int frames, IReadOnlyList<double> steps, ulong seed, AttentionMask mask)
    {
        int n = frames * model.Config.FrameLatents;
        var x = new float[n];
        GaussianNoise.For(seed, 0, 0).Fill(x);
        var x0 = new float[n];
        for (int i = 0; i < steps.Count; i++)
        {
            var v = model.Forward(x, frames, Enumerable.Repeat(steps[i], frames).ToArray(), prompt, new FullSequenceAttention(model, mask));
            double s = steps[i] / 1000.0;
            for (int j = 0; j < n; j++)
            {
                x0[j] = (float)(x[j] - (s * v[j]));
            }
            if (i + 1 < steps.Count)
            {
                double next = steps[i + 1] / 1000.0;
                var eps = new float[n];
                GaussianNoise.For(seed, 0, i + 1).Fill(eps);
                for (int j = 0; j < n; j++)
                {
                    x[j] = (float)(((1 - next) * x0[j]) + (next * eps[j]));
                }
            }
        }
        return x0;
    }

    [TestCase("reference", 5)]
    [TestCase("ilgpu-cpu", 2)]
    public void GenerationEqualsTheFullSequenceForwardLoop(string backend, int frames)
    {
        using var model = EngineTestKit.Model(backend);
        var c = model.Config;
        using var text = EngineTestKit.Text(c, 1);
        var options = new GenerateOptions { Frames = frames, Timesteps = ThreeSteps, Seed = 11 };
        var generator = new OneShotGenerator(model, options);
        var traces = new List<StepTrace>();
        generator.Step += traces.Add;
        var result = generator.Generate(text);

        using var prompt = model.EncodeText(text);
        var expected = HandWrittenLoop(model, prompt, frames, ThreeSteps, 11, AttentionMask.None);
        Assert.That(result.Latents, Is.EqualTo(expected), "bit for bit: the same forwards and the same update arithmetic");
        Assert.That(result.Frames, Is.EqualTo(frames));
        Assert.That(result.Tokens, Is.EqualTo((long)frames * c.FrameTokens));
        Assert.That(result.StepMs, Has.Count.EqualTo(3).And.All.GreaterThan(0));
        Assert.That(result.TotalMs, Is.GreaterThanOrEqualTo(result.StepMs.Sum() * 0.99));
        Assert.That(traces.Select(t => t.Step), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(traces.Select(t => t.Timestep), Is.EqualTo(ThreeSteps));

        // The control: under a block-causal mask the frames see less, and the latents differ, so
        // the agreement above is the bidirectional attention's and not a test that cannot fail.
        var causal = HandWrittenLoop(model, prompt, frames, ThreeSteps, 11, AttentionMask.BlockCausal(c.FrameTokens));
        Assert.That(EngineTestKit.RelL2(expected, causal), Is.GreaterThan(1e-3));
        // And a generation is deterministic: again, the same bits.
        Assert.That(generator.Generate(text).Latents, Is.EqualTo(result.Latents));
    }

    [Test]
    public void NpyNoiseHoldingTheSeededDrawsGivesTheSeededLatents()
    {
        using var model = EngineTestKit.Model("reference");
        var c = model.Config;
        using var text = EngineTestKit.Text(c, 2);
        const int frames = 4;
        var options = new GenerateOptions { Frames = frames, Timesteps = ThreeSteps, Seed = 5 };
        var seeded = new OneShotGenerator(model, options).Generate(text).Latents;

        // The seeded draws written as the two files `zoe generate` reads, and read back.
        int n = frames * c.FrameLatents;
        var initial = new float[n];
        GaussianNoise.For(5, 0, 0).Fill(initial);
        var renoise = new float[2 * n];
        GaussianNoise.For(5, 0, 1).Fill(renoise.AsSpan(0, n));
        GaussianNoise.For(5, 0, 2).Fill(renoise.AsSpan(n, n));
        string noisePath = _tmp.File("n.npy"), renoisePath = _tmp.File("r.npy");
        var shape = new Shape(c.LatentChannels, frames, c.LatentHeight, c.LatentWidth);
        using (var t = Tensor.FromArray(initial, shape, "n"))
        {
            Npy.Write(noisePath, t);
        }
        using (var t = Tensor.FromArray(renoise, new Shape(2, c.LatentChannels, frames, c.LatentHeight, c.LatentWidth), "r"))
        {
            Npy.Write(renoisePath, t);
        }
        using var n0 = Npy.Read(noisePath);
        using var r0 = Npy.Read(renoisePath);
        var both = NoiseTable.ForGenerate(n0, noisePath, r0, renoisePath, c, frames, 3, new SeededNoise(999));
        Assert.That(new OneShotGenerator(model, options, both).Generate(text).Latents, Is.EqualTo(seeded));
        // The initial noise from the file and the re-noise from the seed: the same again.
        var initialOnly = NoiseTable.ForGenerate(n0, noisePath, null, null, c, frames, 3, new SeededNoise(5));
        Assert.That(initialOnly.Description, Does.Contain("n.npy").And.Contain("seed 5"));
        Assert.That(new OneShotGenerator(model, options, initialOnly).Generate(text).Latents, Is.EqualTo(seeded));
        // The control: another re-noise seed changes the latents.
        var otherSeed = NoiseTable.ForGenerate(n0, noisePath, null, null, c, frames, 3, new SeededNoise(6));
        Assert.That(EngineTestKit.RelL2(seeded, new OneShotGenerator(model, options, otherSeed).Generate(text).Latents), Is.GreaterThan(1e-3));
    }

    [Test]
    public void StreamNoiseFromATableGivesTheSeededStream()
    {
        using var model = EngineTestKit.Model("reference");
        var c = model.Config;
        using var text = EngineTestKit.Text(c, 3);
        var options = new StreamOptions { WindowFrames = 6, SinkFrames = 0, Timesteps = ThreeSteps, Seed = 8 };
        const int blocks = 3;
        int n = options.BlockFrames * c.FrameLatents;
        var draws = new float[blocks * 3 * n];
        for (int b = 0; b < blocks; b++)
        {
            for (int s = 0; s < 3; s++)
            {
                GaussianNoise.For(8, b, s).Fill(draws.AsSpan(((b * 3) + s) * n, n));
            }
        }
        string path = _tmp.File("stream-noise.npy");
        using (var t = Tensor.FromArray(draws, new Shape(blocks, 3, c.LatentChannels, options.BlockFrames, c.LatentHeight, c.LatentWidth), "noise"))
        {
            Npy.Write(path, t);
        }
        using var file = Npy.Read(path);
        var table = NoiseTable.ForStream(file, path, c, options.BlockFrames, 3, blocks);

        using var seeded = new StreamingSession(model, text, options);
        using var fromFile = new StreamingSession(model, text, options, noise: table);
        Assert.That(seeded.Noise, Is.EqualTo(new SeededNoise(8)));
        for (int b = 0; b < blocks; b++)
        {
            Assert.That(fromFile.GenerateBlock().Latents, Is.EqualTo(seeded.GenerateBlock().Latents), $"block {b}");
        }
        // A fourth block has no draws in the file: refused before any work, the session unchanged.
        var e = Assert.Throws<ZoetropeStreamException>(() => fromFile.GenerateBlock())!;
        Assert.That(e.Message, Does.Contain("block 3").And.Contain(path));
        Assert.That(fromFile.BlocksGenerated, Is.EqualTo(blocks));
        Assert.That(fromFile.Cache.Frames.Max(), Is.EqualTo((blocks * options.BlockFrames) - 1), "no slot was claimed");
    }

    // The refactor onto FlowSampler kept the stream's equations: every traced step's input is
    // the previous step's x0 re-noised with the seeded draw (block, step), and the block is the
    // last x0, each computed here by hand from the traces.
    [Test]
    public void TheStreamAppliesTheStatedUpdateAndRenoise()
    {
        using var model = EngineTestKit.Model("reference");
        var c = model.Config;
        using var text = EngineTestKit.Text(c, 4);
        var options = new StreamOptions { WindowFrames = 6, SinkFrames = 0, Timesteps = ThreeSteps, Seed = 9 };
        using var session = new StreamingSession(model, text, options);
        var traces = new List<StepTrace>();
        session.Step += traces.Add;
        for (int b = 0; b < 2; b++)
        {
            traces.Clear();
            var block = session.GenerateBlock();
            int n = block.Latents.Length;
            var first = new float[n];
            GaussianNoise.For(9, b, 0).Fill(first);
            Assert.That(traces[0].Input, Is.EqualTo(first), $"block {b}: the initial noise is draw (seed, block, 0)");
            float[] x0 = [];
            for (int i = 0; i < ThreeSteps.Length; i++)
            {
                var t = traces[i];
                double s = t.Timestep / 1000.0;
                x0 = t.Input.Select((x, j) => (float)(x - (s * t.Velocity[j]))).ToArray();
                if (i + 1 < ThreeSteps.Length)
                {
                    var eps = new float[n];
                    GaussianNoise.For(9, b, i + 1).Fill(eps);
                    double next = ThreeSteps[i + 1] / 1000.0;
                    var expected = x0.Select((v, j) => (float)(((1 - next) * v) + (next * eps[j]))).ToArray();
                    Assert.That(traces[i + 1].Input, Is.EqualTo(expected), $"block {b} step {i + 1}");
                }
            }
            Assert.That(block.Latents, Is.EqualTo(x0));
            Assert.That(traces[^1].Step, Is.EqualTo(-1));
            Assert.That(traces[^1].Input, Is.EqualTo(x0), "the clean re-run is fed x0 at t = 0");
            Assert.That(traces[^1].Timestep, Is.Zero);
        }
    }

    // The README states how a draw is made so that another implementation can reproduce it:
    // that statement, written out here from the README alone, is the generator.
    [TestCase(42UL, 0L, 0)]
    [TestCase(42UL, 7L, 3)]
    [TestCase(ulong.MaxValue, 123456L, 1)]
    public void TheReadmesDescriptionOfADrawIsTheGenerator(ulong seed, long block, int step)
    {
        static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
        ulong state = Mix(seed ^ Mix((ulong)block * 0x9E3779B97F4A7C15UL) ^ Mix(((ulong)step + 1) * 0xC2B2AE3D27D4EB4FUL));
        ulong Output()
        {
            state += 0x9E3779B97F4A7C15UL;
            return Mix(state);
        }
        var expected = new float[1001];
        for (int j = 0; j < expected.Length; j += 2)
        {
            double u1 = Math.ScaleB((Output() >> 11) + 1, -53);
            double u2 = Math.ScaleB(Output() >> 11, -53);
            double r = Math.Sqrt(-2 * Math.Log(u1));
            expected[j] = (float)(r * Math.Cos(2 * Math.PI * u2));
            if (j + 1 < expected.Length)
            {
                expected[j + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
            }
        }
        var actual = new float[expected.Length];
        new SeededNoise(seed).Fill(block, step, actual);
        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    public void BadNoiseIsRefusedNamingTheFileTheExpectedAndTheActualShape()
    {
        var c = DiTConfig.Tiny;
        Tensor Zeros(params long[] dims) => Tensor.FromDoubles(new double[new Shape(dims).ElementCount], DType.F32, new Shape(dims), "z");
        // Streams: too few blocks, too few steps, the wrong block frames, integers.
        using (var t = Zeros(2, 4, 16, 3, 8, 8))
        {
            var e = Assert.Throws<ArgumentException>(() => NoiseTable.ForStream(t, "few-blocks.npy", c, 3, 4, 3))!;
            Assert.That(e.Message, Does.Contain("few-blocks.npy").And.Contain("[blocks >= 3, steps >= 4, 16, 3, 8, 8]").And.Contain("f32[2, 4, 16, 3, 8, 8]"));
            e = Assert.Throws<ArgumentException>(() => NoiseTable.ForStream(t, "few-steps.npy", c, 3, 5, 2))!;
            Assert.That(e.Message, Does.Contain("few-steps.npy").And.Contain("steps >= 5").And.Contain("[2, 4, 16, 3, 8, 8]"));
            Assert.That(NoiseTable.ForStream(t, "ok.npy", c, 3, 3, 1).Has(1, 3), Is.True, "more blocks and steps than needed are allowed");
            Assert.That(NoiseTable.ForStream(t, "ok.npy", c, 3, 3, 1).Has(2, 0), Is.False);
        }
        using (var t = Zeros(2, 4, 16, 2, 8, 8))
        {
            Assert.That(Assert.Throws<ArgumentException>(() => NoiseTable.ForStream(t, "frames.npy", c, 3, 4, 2))!.Message, Does.Contain("frames.npy").And.Contain("[2, 4, 16, 2, 8, 8]"));
        }
        using (var t = Tensor.FromDoubles(new double[2 * 4 * 16 * 3 * 64], DType.I32, new Shape(2, 4, 16, 3, 8, 8), "ints"))
        {
            Assert.That(Assert.Throws<ArgumentException>(() => NoiseTable.ForStream(t, "ints.npy", c, 3, 4, 2))!.Message, Does.Contain("ints.npy").And.Contain("i32"));
        }
        // One-shot: the wrong frame count; too few re-noise rows.
        using (var initial = Zeros(16, 5, 8, 8))
        using (var renoise = Zeros(1, 16, 5, 8, 8))
        {
            var e = Assert.Throws<ArgumentException>(() => NoiseTable.ForGenerate(initial, "n.npy", null, null, c, 4, 3, new SeededNoise(1)))!;
            Assert.That(e.Message, Does.Contain("n.npy").And.Contain("[16, 4, 8, 8]").And.Contain("f32[16, 5, 8, 8]"));
            e = Assert.Throws<ArgumentException>(() => NoiseTable.ForGenerate(initial, "n.npy", renoise, "r.npy", c, 5, 3, new SeededNoise(1)))!;
            Assert.That(e.Message, Does.Contain("r.npy").And.Contain("[steps - 1 >= 2, 16, 5, 8, 8]").And.Contain("f32[1, 16, 5, 8, 8]"));
        }
        // A table of the wrong draw length, or too few steps, is refused by the session and the generator.
        using var model = EngineTestKit.Model("reference");
        using var text = EngineTestKit.Text(c, 1);
        var small = new NoiseTable("small.npy", new float[2 * c.FrameLatents], 1, 1, 2 * c.FrameLatents);
        Assert.That(Assert.Throws<ArgumentException>(() => new StreamingSession(model, text, noise: small))!.Message, Does.Contain("small.npy").And.Contain($"needs {3 * c.FrameLatents}"));
        Assert.That(Assert.Throws<ArgumentException>(() => new OneShotGenerator(model, new GenerateOptions { Frames = 2 }, small))!.Message, Does.Contain("small.npy").And.Contain("4 steps"));
        Assert.Throws<ArgumentException>(() => new OneShotGenerator(model, new GenerateOptions { Frames = 3 }, small));
        Assert.Throws<ArgumentException>(() => new GenerateOptions { Frames = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new GenerateOptions { Timesteps = [500, 700] }.Validate());
    }

    // The bench's stream suite lists the one-shot rows at wan-1.3b shapes everywhere, runs them
    // on GPUs only, and skips them on CPUs with the reason; the row itself is measured here on
    // the micro model (the code path a GPU runs).
    [Test]
    public void TheStreamSuiteListsTheOneShotRowsAndSkipsThemWithoutAGpu()
    {
        foreach (var kind in new[] { BackendKind.Reference, BackendKind.IlgpuCpu, BackendKind.Cuda, BackendKind.IlgpuCuda })
        {
            var listing = StreamBench.Listing(kind);
            var generate = listing.Where(r => r.Label.Contains(" generate ", StringComparison.Ordinal)).ToArray();
            Assert.That(generate, Has.Length.EqualTo(2), $"{kind}: the dense/bf16 baseline and turbo");
            long tokens = 21L * DiTConfig.Wan1_3B.FrameTokens;
            Assert.That(generate.All(r => r.Label.StartsWith("wan-1.3b generate", StringComparison.Ordinal) && r.Label.Contains($"21 frames ({tokens} tokens) x 4 steps", StringComparison.Ordinal)),
                string.Join("\n", generate.Select(r => r.Label)));
            bool gpu = kind.NeedsGpu();
            Assert.That(generate.All(r => (r.Skipped is null) == gpu), kind.ToString());
            var decode = listing.Where(r => r.Label.Contains(" decode ", StringComparison.Ordinal)).ToArray();
            Assert.That(decode, Has.Length.EqualTo(2), $"{kind}: a row per decoder");
            Assert.That(decode.All(r => (r.Skipped is null) == (kind != BackendKind.IlgpuCpu)), $"{kind}: the decoders run everywhere but ILGPU's CPU accelerator");
            Assert.That(listing.Except(generate).Except(decode).All(r => r.Skipped is null), "the streaming rows run everywhere");
            if (gpu)
            {
                var options = new ModelOptions { Activations = DType.BF16 };
                Assert.That(StreamBench.Estimate(kind).DeviceBytes, Is.GreaterThanOrEqualTo(MemoryEstimate.ForGenerate(DiTConfig.Wan1_3B, options, 21, kind).DeviceBytes),
                    "the suite's preflight covers the one-shot rows");
            }
        }
        using var weights = WanWeights.Random(DiTConfig.Micro, 3);
        using var micro = new WanModel(Backends.Get("reference"), weights, new ModelOptions { Activations = DType.F32 });
        using var text = EngineTestKit.Text(DiTConfig.Micro, 1);
        var row = StreamBench.MeasureGenerate(micro, text, AttentionMode.Dense, LinearPath.Bf16, 2);
        Assert.That(row.Op, Is.EqualTo("stream"));
        Assert.That(row.Shape, Does.StartWith(StreamBench.GenerateLabel(DiTConfig.Micro, AttentionMode.Dense, LinearPath.Bf16, DType.F32)));
        Assert.That(row.Iterations, Is.EqualTo(2));
        Assert.That(row.SamplesMs, Has.Count.EqualTo(2).And.All.GreaterThan(0));
    }

    // The tensors the one-shot estimate counts are the ones the engine allocates: the weights
    // exactly, the whole generation within 10%, never under (as the stream's estimate).
    [TestCase("micro", LinearPath.Bf16, 6)]
    [TestCase("micro", LinearPath.Int8, 6)]
    [TestCase("tiny", LinearPath.Bf16, 5)]
    public void TheGenerateEstimateMatchesWhatTheBackendAllocates(string modelName, LinearPath path, int frames)
    {
        var config = DiTConfig.Get(modelName);
        var options = new ModelOptions { Activations = DType.F32, Linear = path };
        var estimate = MemoryEstimate.ForGenerate(config, options, frames, BackendKind.Reference);
        Assert.That(estimate.KvPool, Is.Zero, "no KV cache");
        using var backend = Backends.Create(BackendKind.Reference);
        using var weights = WanWeights.Random(config, 7);
        using var model = new WanModel(backend, weights, options);
        Assert.That(backend.LiveBytes, Is.EqualTo(estimate.BackendWeights), "weights as the model holds them");
        using var text = GaussianNoise.Sample(3, new Shape(config.TextTokens, config.TextDim), "text");
        new OneShotGenerator(model, new GenerateOptions { Frames = frames, Timesteps = ThreeSteps }).Generate(text);
        Assert.That(estimate.BackendTensorBytes, Is.InRange(backend.PeakBytes, backend.PeakBytes * 1.10),
            $"estimated {estimate.BackendTensorBytes} vs allocated {backend.PeakBytes}");
        // More frames, more activations; the stream's estimate for the same model holds a pool instead.
        Assert.That(MemoryEstimate.ForGenerate(config, options, frames * 2, BackendKind.Reference).ActivationTensors, Is.GreaterThan(estimate.ActivationTensors));
    }
}
