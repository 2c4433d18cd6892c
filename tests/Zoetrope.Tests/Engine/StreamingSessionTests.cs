// The scheduler's contract on the tiny model (reference backend): what the cache holds after
// each block, what a prompt switch changes, determinism, metrics, async generation.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class StreamingSessionTests
{
    private static readonly StreamOptions Small = new() { WindowFrames = 6, SinkFrames = 3, Timesteps = [1000, 625], Seed = 5 };

    private static StreamingSession Session(WanModel model, StreamOptions options, int prompt = 1)
    {
        using var text = EngineTestKit.Text(model.Config, prompt);
        return new StreamingSession(model, text, options);
    }

    [Test]
    public void TheCacheHoldsSinksPlusTheWindowAndNeverEvictsSinks()
    {
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small);
        for (int b = 0; b < 5; b++)
        {
            session.GenerateBlock();
            var frames = session.Cache.Frames;
            long generated = session.FramesGenerated;
            Assert.That(frames.Count, Is.LessThanOrEqualTo(Small.SinkFrames + Small.WindowFrames));
            var expected = Enumerable.Range(0, 3).Select(i => (long)i)
                .Concat(Enumerable.Range(0, (int)generated).Select(i => (long)i).Where(f => f >= 3 && f >= generated - Small.WindowFrames))
                .Distinct().Where(f => f < generated).ToArray();
            Assert.That(frames, Is.EqualTo(expected), $"after block {b}");
            Assert.That(session.Cache.FrameAt.Take(3), Is.EqualTo(new long[] { 0, 1, 2 }));
        }
    }

    [Test]
    public void TheCleanRerunIsWhatTheCacheKeeps()
    {
        // Replaying the clean latents at t = 0 block by block into a fresh cache must rebuild the
        // session's cache exactly: the noisy steps' K/V were all overwritten by the re-run.
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small);
        var clean = Enumerable.Range(0, 4).Select(_ => session.GenerateBlock()).ToArray();
        using var text = EngineTestKit.Text(model.Config, 1);
        using var prompt = model.EncodeText(text);
        using var replay = new KvCache(model.Backend, model.Config, Small, DType.F32, model.RopeTable);
        foreach (var block in clean)
        {
            replay.Claim(block.FirstFrame, block.Frames);
            model.Forward(block.Latents, block.Frames, [0, 0, 0], prompt, new CachedAttention(model, replay, block.FirstFrame));
        }
        Assert.That(replay.FrameAt, Is.EqualTo(session.Cache.FrameAt));
        for (int l = 0; l < model.Config.Layers; l++)
        {
            Assert.That(replay.Keys(l).ToBytes().AsSpan().SequenceEqual(session.Cache.Keys(l).ToBytes()), $"K of layer {l}");
            Assert.That(replay.Values(l).ToBytes().AsSpan().SequenceEqual(session.Cache.Values(l).ToBytes()), $"V of layer {l}");
        }
    }

    [Test]
    public void KeepLastStepSkipsTheRerunAndLeavesNoisyContext()
    {
        using var model = EngineTestKit.Model("reference");
        using var rerun = Session(model, Small);
        using var keep = Session(model, Small with { KvWrite = KvWriteMode.KeepLastStep });
        int forwards = 0;
        keep.Step += _ => forwards++;
        var a = new[] { rerun.GenerateBlock(), rerun.GenerateBlock() };
        var b = new[] { keep.GenerateBlock(), keep.GenerateBlock() };
        Assert.That(forwards, Is.EqualTo(2 * Small.Timesteps.Count));
        Assert.That(b[0].Latents.AsSpan().SequenceEqual(a[0].Latents), "the first block sees no cached context either way");
        Assert.That(EngineTestKit.RelL2(a[1].Latents, b[1].Latents), Is.GreaterThan(1e-4), "the second block sees different K/V");
    }

    [Test]
    public void SameSeedSameLatentsBitForBit()
    {
        using var model = EngineTestKit.Model("reference");
        float[][] Run(ulong seed)
        {
            using var s = Session(model, Small with { Seed = seed });
            return [s.GenerateBlock().Latents, s.GenerateBlock().Latents];
        }
        var first = Run(17);
        var again = Run(17);
        var other = Run(18);
        Assert.That(again[0].AsSpan().SequenceEqual(first[0]), "block 0 bit for bit");
        Assert.That(again[1].AsSpan().SequenceEqual(first[1]), "block 1 bit for bit");
        Assert.That(other[1].AsSpan().SequenceEqual(first[1]), Is.False, "another seed, other latents");
    }

    [Test]
    public void APromptSwitchRecachesTheWindowAndKeepsTheSinks()
    {
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small);
        for (int b = 0; b < 4; b++)
        {
            session.GenerateBlock(); // frames 0..11; cache: 0-2, 6-11
        }
        var slots = session.Cache.FrameAt.ToArray();
        int layers = model.Config.Layers;
        long sinkBytes = 3L * model.Config.FrameTokens * model.Config.Dim * 4;
        var before = Enumerable.Range(0, layers).Select(l => session.Cache.Values(l).ToBytes()).ToArray();
        using (var second = EngineTestKit.Text(model.Config, 2))
        {
            Assert.That(session.SwitchPrompt(second), Is.GreaterThan(0));
        }
        Assert.That(session.Cache.FrameAt, Is.EqualTo(slots), "no frame moves or leaves");
        for (int l = 0; l < layers; l++)
        {
            var after = session.Cache.Values(l).ToBytes();
            Assert.That(after.AsSpan(0, (int)sinkBytes).SequenceEqual(before[l].AsSpan(0, (int)sinkBytes)), $"layer {l}: sinks untouched");
            // The prompt enters a block after its self-attention, so layer 0's K/V cannot change;
            // every later layer's window must.
            bool same = after.AsSpan((int)sinkBytes).SequenceEqual(before[l].AsSpan((int)sinkBytes));
            Assert.That(same, Is.EqualTo(l == 0), $"layer {l}: window re-run under the new prompt");
        }

        // And the stream goes on under the new prompt.
        Assert.That(session.GenerateBlock().FirstFrame, Is.EqualTo(12));
    }

    [Test]
    public void ARecacheEqualsReplayingTheWindowUnderTheNewPrompt()
    {
        // Three blocks (frames 0..8: sinks 0-2, window 3-8), then a switch. A replay into a fresh
        // cache (sinks at t = 0 under the old prompt, then the window's blocks under the new one,
        // each seeing the sinks and the blocks before it) must give the same K/V: the engine's
        // block-causal recache, which keeps the sinks (LongLive's own is in LongLiveFidelityTests).
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small with { Recache = RecacheMask.BlockCausal, SwitchSinks = SinkSwitch.Keep });
        var clean = Enumerable.Range(0, 3).Select(_ => session.GenerateBlock()).ToArray();
        using (var second = EngineTestKit.Text(model.Config, 2))
        {
            session.SwitchPrompt(second);
        }
        using var oldText = EngineTestKit.Text(model.Config, 1);
        using var newText = EngineTestKit.Text(model.Config, 2);
        using var oldPrompt = model.EncodeText(oldText);
        using var newPrompt = model.EncodeText(newText);
        using var replay = new KvCache(model.Backend, model.Config, Small, DType.F32, model.RopeTable);
        foreach (var (block, prompt) in new[] { (clean[0], oldPrompt), (clean[1], newPrompt), (clean[2], newPrompt) })
        {
            replay.Claim(block.FirstFrame, block.Frames);
            model.Forward(block.Latents, 3, [0, 0, 0], prompt, new CachedAttention(model, replay, block.FirstFrame));
        }
        static float[] F(Tensor t) => t.ToDoubles().Select(x => (float)x).ToArray();
        for (int l = 0; l < model.Config.Layers; l++)
        {
            Assert.That(EngineTestKit.RelL2(F(replay.Keys(l)), F(session.Cache.Keys(l))), Is.LessThan(1e-5), $"K of layer {l}");
            Assert.That(EngineTestKit.RelL2(F(replay.Values(l)), F(session.Cache.Values(l))), Is.LessThan(1e-5), $"V of layer {l}");
        }
    }

    [Test]
    public void ABadPromptOnSwitchChangesNothing()
    {
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small);
        session.GenerateBlock();
        var k = session.Cache.Keys(1).ToBytes();
        using var bad = Tensor.FromDoubles(new double[5], DType.F32, new Shape(1, 5), "bad_prompt");
        Assert.That(Assert.Throws<ArgumentException>(() => session.SwitchPrompt(bad))!.Message, Does.Contain("bad_prompt"));
        Assert.That(session.Cache.Keys(1).ToBytes().AsSpan().SequenceEqual(k), "the cache is as it was");
        Assert.That(session.GenerateBlock().Index, Is.EqualTo(1));
    }

    [Test]
    public void MetricsCountVideoFramesAndTheOpBreakdown()
    {
        using var model = EngineTestKit.Model("reference");
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, Small, profile: true);
        var blocks = new[] { session.GenerateBlock(), session.GenerateBlock(), session.GenerateBlock() };
        var m = session.Metrics;
        Assert.That(blocks.Select(b => b.VideoFrames), Is.EqualTo(new[] { 9, 12, 12 }));
        Assert.That(m.VideoFrames, Is.EqualTo(33));
        Assert.That(m.TimeToFirstBlockMs, Is.GreaterThanOrEqualTo(blocks[0].LatencyMs));
        Assert.That(m.Fps, Is.EqualTo(33 / (blocks.Sum(b => b.LatencyMs) / 1000)).Within(1e-9));
        Assert.That(m.P99Ms, Is.GreaterThanOrEqualTo(m.P50Ms));
        var ops = m.Ops.ToDictionary(o => o.Op, o => o.Count);
        int forwards = 3 * (Small.Timesteps.Count + 1);
        Assert.That(ops["attention"], Is.EqualTo(forwards * model.Config.Layers * 2), "self + cross per layer");
        Assert.That(ops["linear"], Is.EqualTo(forwards * ((8 * model.Config.Layers) + 2)));
    }

    [Test]
    public async Task GenerateAsyncStreamsAndStopsOnCancellation()
    {
        using var model = EngineTestKit.Model("reference");
        using var session = Session(model, Small);
        using var cts = new CancellationTokenSource();
        var seen = new List<int>();
        bool cancelled = false;
        try
        {
            await foreach (var block in session.GenerateAsync(null, cts.Token))
            {
                seen.Add(block.Index);
                if (seen.Count == 2)
                {
                    await cts.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
            cancelled = true;
        }
        Assert.That(cancelled);
        Assert.That(seen, Is.EqualTo(new[] { 0, 1 }));
        Assert.That(session.BlocksGenerated, Is.EqualTo(2));
        await foreach (var block in session.GenerateAsync(1))
        {
            Assert.That(block.Index, Is.EqualTo(2));
        }
    }
}
