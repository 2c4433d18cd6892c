// The TurboDiffusion configuration in the engine (issue 18): Sage over the INT8 KV cache, SageSLA
// with per-layer proj_l, the fused QK path, the cache-relative policy rotating once per block,
// the turbo preset; on the CPU backends, and on the emulated CUDA device where it is built.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
[NonParallelizable]
public sealed class TurboEngineTests
{
    private static readonly StreamOptions Small = new() { WindowFrames = 6, SinkFrames = 3, Timesteps = [1000, 625], Seed = 5 };

    private static float[] Stream(WanModel model, StreamOptions options, int blocks, Action<StreamingSession>? after = null)
    {
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, options);
        var latents = new List<float>();
        for (int b = 0; b < blocks; b++)
        {
            latents.AddRange(session.GenerateBlock().Latents);
            after?.Invoke(session);
        }
        return latents.ToArray();
    }

    [Test]
    public void KvBytesPerLatentFrameAtWan13BAreWhatTheFormatsStore()
    {
        var c = DiTConfig.Wan1_3B;
        // bf16 K and V: 2 x 30 layers x 1560 tokens x 1536 x 2 bytes = 274.2 MiB.
        Assert.That(KvCache.FrameBytes(c, KvFormat.Activations, DType.BF16), Is.EqualTo(287_539_200L));
        // INT8 K + a f32 scale per token and head, bf16 V: 30 x 1560 x (1536 + 48 + 3072) = 207.8 MiB.
        Assert.That(KvCache.FrameBytes(c, KvFormat.Int8, DType.BF16), Is.EqualTo(217_900_800L));
        Assert.That(KvCache.FrameBytes(c, KvFormat.Activations, DType.BF16, rotatesOnRead: true), Is.EqualTo(287_539_200L * 3 / 2));
        using var table = Tensor.FromDoubles(new double[1024 * 32 * 2], DType.F32, new Shape(1024, 32, 2), "table");
        using var cache = new KvCache(Backends.Host, DiTConfig.Tiny, Small, DType.BF16, table, KvFormat.Int8);
        var t = DiTConfig.Tiny;
        Assert.That(cache.Bytes, Is.EqualTo((9 * KvCache.FrameBytes(t, KvFormat.Int8, DType.BF16)) + (4L * t.Layers * t.Dim)));
    }

    [Test]
    public void AnInt8CacheUnderRotateOnReadIsRefusedByName()
    {
        using var table = Tensor.FromDoubles(new double[1024 * 32 * 2], DType.F32, new Shape(1024, 32, 2), "table");
        var e = Assert.Throws<ArgumentException>(() => new KvCache(Backends.Host, DiTConfig.Tiny, Small with { Rope = RopePolicy.CacheRelative }, DType.BF16, table, KvFormat.Int8));
        Assert.That(e!.Message, Does.Contain("INT8").And.Contain("relative"));
        Assert.Throws<ArgumentException>(() => new SelfAttentionKernel(new ModelOptions { Attention = AttentionMode.Dense, Kv = KvFormat.Int8 }));
    }

    // Sage over the INT8 cache against dense f32 on the tiny model, with dense bf16 as the yardstick:
    // the smoothing vector is fixed after the first block and every later frame is quantized once.
    [Test]
    public void SageOverTheInt8CacheTracksDenseF32()
    {
        using var f32 = EngineTestKit.Model("reference");
        using var bf16 = EngineTestKit.Model("reference", new ModelOptions { Activations = DType.BF16 });
        using var sage = EngineTestKit.Model("reference", new ModelOptions { Activations = DType.BF16, Attention = AttentionMode.Sage });
        const int blocks = 5;
        var expected = Stream(f32, Small, blocks);
        var dense16 = Stream(bf16, Small, blocks);
        float[]? means = null;
        var got = Stream(sage, Small, blocks, s =>
        {
            Assert.That(s.Cache.Format, Is.EqualTo(KvFormat.Int8));
            var now = s.Cache.KeyMean(0).ToArray<float>();
            if (s.BlocksGenerated >= 2)
            {
                Assert.That(s.Cache.MeansFixed, Is.True, "fixed from the second block on");
                Assert.That(now, Is.EqualTo(means), "the smoothing vector does not move once fixed");
            }
            means = now;
        });
        double bf16Err = EngineTestKit.RelL2(expected, dense16);
        double sageErr = EngineTestKit.RelL2(expected, got);
        TestContext.Out.WriteLine($"tiny, {blocks} blocks: relL2 vs dense f32: dense bf16 {bf16Err:E3}, sage int8-KV {sageErr:E3}");
        Assert.That(sageErr, Is.LessThan(0.05), "Sage (INT8 Q/K, per-token K scales, P.V f16) within 5% of dense f32");
        Assert.That(sageErr, Is.LessThan(Math.Max(8 * bf16Err, 0.01)), "and within a small multiple of bf16's own rounding");
    }

    [Test]
    public void SagePromptSwitchReRunsIntoTheInt8CacheAndRefixesTheMeansWhenNothingIsKept()
    {
        using var sage = EngineTestKit.Model("reference", new ModelOptions { Activations = DType.BF16, Attention = AttentionMode.Sage });
        foreach (bool keep in new[] { true, false })
        {
            using var text = EngineTestKit.Text(sage.Config, 1);
            using var other = EngineTestKit.Text(sage.Config, 2);
            using var session = new StreamingSession(sage, text, Small with { SwitchSinks = keep ? SinkSwitch.Keep : SinkSwitch.Recompute });
            for (int b = 0; b < 4; b++)
            {
                session.GenerateBlock();
            }
            // The last layer: the prompt enters a block after its self-attention, so layer 0's K
            // (and the vector computed from it) cannot change with the prompt.
            int last = sage.Config.Layers - 1;
            var sinkCodes = session.Cache.Keys(last).Slice(1, 0, 3L * sage.Config.FrameTokens).ToBytes();
            var meanBefore = session.Cache.KeyMean(last).ToArray<float>();
            session.SwitchPrompt(other);
            Assert.That(session.Cache.MeansFixed, Is.True);
            var sinkAfter = session.Cache.Keys(last).Slice(1, 0, 3L * sage.Config.FrameTokens).ToBytes();
            var meanAfter = session.Cache.KeyMean(last).ToArray<float>();
            if (keep)
            {
                Assert.That(sinkAfter, Is.EqualTo(sinkCodes), "kept sinks are not touched");
                Assert.That(meanAfter, Is.EqualTo(meanBefore), "kept sinks keep the vector they were smoothed by");
            }
            else
            {
                Assert.That(meanAfter, Is.Not.EqualTo(meanBefore), "every frame re-run: the vector is fixed anew");
            }
            var next = session.GenerateBlock().Latents;
            Assert.That(next.All(float.IsFinite));
        }
    }

    // The fused QK path (qk_norm_rope into the cache) equals rms_norm + rope_apply, under both
    // RoPE policies (the relative one through the rotated-read pools).
    [TestCase(RopePolicy.Absolute)]
    [TestCase(RopePolicy.CacheRelative)]
    public void TheFusedQkPathEqualsTheSeparateOps(RopePolicy rope)
    {
        using var fused = EngineTestKit.Model("reference");
        using var apart = EngineTestKit.Model("reference", new ModelOptions { Activations = DType.F32, FusedQk = false });
        var options = Small with { Rope = rope };
        Assert.That(EngineTestKit.RelL2(Stream(apart, options, 5), Stream(fused, options, 5)), Is.LessThan(1e-5));
    }

    // The cache-relative policy re-rotates a slot only when its read position moved or its keys
    // were rewritten: once per block after an eviction, and the current block on each forward.
    [Test]
    public void RelativeRopeRotatesTheCacheOncePerBlockNotOncePerForward()
    {
        using var model = EngineTestKit.Model("reference");
        var options = Small with { Rope = RopePolicy.CacheRelative };
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, options, profile: true);
        for (int b = 0; b < options.BlocksToFillCache + 1; b++)
        {
            session.GenerateBlock();
        }
        session.Metrics.ResetOps();
        session.GenerateBlock(); // evicts: every window frame moves down a block
        var c = model.Config;
        int forwards = options.Timesteps.Count + 1;
        long rowBytes = (long)c.Dim * 4 * 2; // rope_apply reads and writes a row of f32
        long block = (long)options.BlockFrames * c.FrameTokens;
        long window = (long)(options.WindowFrames - options.BlockFrames) * c.FrameTokens;
        var rope = session.Metrics.OpWork.Single(o => o.Op == "rope_apply");
        // Per layer: the new block once per forward, the moved window frames once.
        Assert.That(rope.Bytes, Is.EqualTo(c.Layers * ((forwards * block) + window) * rowBytes).Within(1).Percent);
        Assert.That(session.Metrics.OpWork.Any(o => o.Op == "qk_norm_rope"), "Q goes through the fused op");
    }

    [Test]
    public void SlaProjLIsLoadedByNameAndItsAbsenceIsAWarning()
    {
        var c = EngineTestKit.Micro;
        var random = WanWeights.Random(c, seed: 3);
        var tensors = random.Names.ToDictionary(n => n, n => random[n]);
        using (var without = new WanModel(Backends.Get("reference"), random, new ModelOptions { Activations = DType.F32, Attention = AttentionMode.Sla }))
        {
            Assert.That(without.Warnings.Single(), Does.Contain("proj_l").And.Contain(WanWeightNames.ProjL(0)));
        }
        var withProj = new Dictionary<string, Tensor>(tensors)
        {
            [WanWeightNames.ProjL(0)] = GaussianNoise.Sample(9, new Shape(c.HeadDim, c.HeadDim), "proj"),
            [WanWeightNames.ProjLBias(0)] = GaussianNoise.Sample(10, new Shape(c.HeadDim), "bias"),
        };
        var weights = WanWeights.FromTensors(c, withProj);
        using var model = new WanModel(Backends.Get("reference"), weights, new ModelOptions { Activations = DType.F32, Attention = AttentionMode.Sla, SparseRatio = 1 });
        Assert.That(model.Warnings, Is.Empty);
        using var dense = new WanModel(Backends.Get("reference"), weights, new ModelOptions { Activations = DType.F32 });
        var sla = Stream(model, Small, 2);
        var plain = Stream(dense, Small, 2);
        // A trained linear branch changes the output even when every key block is taken.
        Assert.That(EngineTestKit.RelL2(plain, sla), Is.GreaterThan(1e-4));
    }

    // Without proj_l, SageSLA skips the linear branch (sage_quantize + block-sparse Sage): the same
    // bits as `sla` precision=sage running it with W = 0 and a zero bias.
    [TestCase(AttentionMode.SageSla)]
    [TestCase(AttentionMode.Sla)]
    public void WithoutProjLTheLinearBranchIsSkippedAndNothingChanges(AttentionMode mode)
    {
        var c = EngineTestKit.Micro;
        var random = WanWeights.Random(c, seed: 3);
        var zeros = new Dictionary<string, Tensor>(random.Names.ToDictionary(n => n, n => random[n]))
        {
            [WanWeightNames.ProjL(0)] = Tensor.FromDoubles(new double[c.HeadDim * c.HeadDim], DType.F32, new Shape(c.HeadDim, c.HeadDim), "proj"),
            [WanWeightNames.ProjLBias(0)] = Tensor.FromDoubles(new double[c.HeadDim], DType.F32, new Shape(c.HeadDim), "bias"),
        };
        var options = new ModelOptions { Activations = DType.BF16, Attention = mode, SparseRatio = 0.5f };
        using var skipped = new WanModel(Backends.Get("reference"), random, options);
        using var computed = new WanModel(Backends.Get("reference"), WanWeights.FromTensors(c, zeros), options);
        Assert.That(skipped.Warnings, Is.Not.Empty);
        Assert.That(computed.Warnings, Is.Empty);
        Assert.That(Stream(skipped, Small, 4), Is.EqualTo(Stream(computed, Small, 4)));
    }

    // turbo: SageSLA at top-k 0.1 + W8A8 128x128 + 4 steps, streamed; with every key block kept
    // (top-k 1) SageSLA is Sage's attention plus a zero linear branch, close to dense.
    [Test]
    public void TurboStreamsAndSageSlaAtFullDensityTracksDense()
    {
        using var f32 = EngineTestKit.Model("reference");
        using var turbo = EngineTestKit.Model("reference", ModelOptions.Turbo);
        var got = Stream(turbo, StreamOptions.Turbo with { WindowFrames = 6, SinkFrames = 3 }, 3);
        Assert.That(got.All(float.IsFinite));
        using var full = EngineTestKit.Model("reference", new ModelOptions { Activations = DType.BF16, Attention = AttentionMode.SageSla, SparseRatio = 1 });
        double err = EngineTestKit.RelL2(Stream(f32, Small, 4), Stream(full, Small, 4));
        TestContext.Out.WriteLine($"sage-sla top-k 1 vs dense f32 over 4 blocks: relL2 {err:E3}");
        Assert.That(err, Is.LessThan(0.05));
    }

    // The same streams on the emulated CUDA device (micro), against the reference backend.
    [TestCase(AttentionMode.Sage)]
    [TestCase(AttentionMode.SageSla)]
    public void SageStreamsOnTheEmulatedDevice(AttentionMode mode)
    {
        var probe = Backends.Probe(BackendKind.CudaEmu);
        if (!probe.Available)
        {
            Assert.Ignore($"cuda-emu is not available here: {probe.Reason}");
        }
        var options = new ModelOptions { Activations = DType.BF16, Attention = mode, SparseRatio = 1 };
        var weights = EngineTestKit.WeightsFor("ilgpu-cpu");
        using var emu = new WanModel(Backends.Get(BackendKind.CudaEmu), weights, options);
        using var reference = new WanModel(Backends.Get("reference"), weights, options);
        var stream = Small with { Timesteps = [1000] };
        double err = EngineTestKit.RelL2(Stream(reference, stream, 2), Stream(emu, stream, 2));
        TestContext.Out.WriteLine($"{mode} micro cuda-emu vs reference: relL2 {err:E3}");
        Assert.That(err, Is.LessThan(2e-2));
    }
}
