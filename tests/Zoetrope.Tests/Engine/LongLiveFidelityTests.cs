// The stream against LongLive 1.0 as released (NVlabs/LongLive, v1.0: wan/modules/causal_model.py,
// pipeline/interactive_causal_inference.py), rebuilt here from the sources' rules rather than
// from the engine's own code:
//   window   keys of a block = the 3 sink frames + the last 9 frames, its own included; 12 cached
//            (local_attn_size 12 counts the sinks: local_budget = max_attention_size - sink_tokens)
//   recache  a prompt switch re-runs the last min(12, generated) clean frames in ONE t = 0 forward
//            under the new prompt with no mask (the block mask it builds is never read by the
//            KV-cache branch); the sink slots are write-protected, so the frames that would land
//            there are computed and discarded, unless the re-run starts at frame 0
//            (recache_start_frame == 0), which rewrites the sinks too.
using NUnit.Framework;
using Zoetrope.Attention.Flash;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class LongLiveFidelityTests
{
    // One step per block keeps the tiny model's streams short; the cache rules do not depend on the steps.
    private static readonly StreamOptions OneStep = StreamOptions.LongLive with { Timesteps = [1000], Seed = 11 };

    [Test]
    public void TheLongLivePresetCaches12FramesOfWhich3AreSinks()
    {
        var o = StreamOptions.Preset("longlive");
        Assert.That((o.SinkFrames, o.WindowFrames, o.CacheFrames), Is.EqualTo((3, 9, 12)));
        Assert.That((o.Recache, o.SwitchSinks), Is.EqualTo((RecacheMask.None, SinkSwitch.KeepAfterEviction)));
        var fromConfig = StreamOptions.FromLocalAttention(12, 3);
        Assert.That((fromConfig.SinkFrames, fromConfig.WindowFrames), Is.EqualTo((o.SinkFrames, o.WindowFrames)), "LongLive's config, read as the sources do");
        Assert.That(StreamOptions.Turbo.CacheFrames, Is.EqualTo(12), "turbo streams over LongLive's cache");
        Assert.That(StreamOptions.SelfForcing.CacheFrames, Is.EqualTo(21), "Self-Forcing: 32760 tokens = 21 frames, no sinks");
        Assert.Throws<ArgumentException>(() => StreamOptions.FromLocalAttention(3, 3), "local_attn_size counts the sinks");

        // Wan-1.3B: 2 (K, V) x 30 layers x 12 frames x 1560 tokens x 1536 x 2 bytes = 3.21 GiB.
        long bytes = KvCache.PoolBytes(DiTConfig.Wan1_3B, o.CacheFrames, DType.BF16);
        Assert.That(bytes, Is.EqualTo(2L * 30 * 12 * 1560 * 1536 * 2));
        Assert.That(bytes / (double)(1L << 30), Is.EqualTo(3.21).Within(0.01));
    }

    [Test]
    public void BlocksAttendToTheSinksAndTheLastNineFramesAsLongLiveDoes()
    {
        // The sources' rule, per block b (frames 3b..3b+2): {0, 1, 2} and [max(3, 3b + 3 - 9), 3b + 2].
        static long[] Rule(int b) =>
            Enumerable.Range(0, 3 * (b + 1)).Select(f => (long)f).Where(f => f < 3 || f >= Math.Max(3, (3 * b) + 3 - 9)).ToArray();

        using var model = EngineTestKit.Model("reference");
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, OneStep);
        var seen = new Dictionary<int, long[]>();
        // The keys a forward reads are the cache's filled slots (CachedAttention attends to all of them).
        session.Step += s => seen.TryAdd(s.Block, session.Cache.Frames.ToArray());
        for (int b = 0; b < 9; b++)
        {
            session.GenerateBlock();
            Assert.That(seen[b], Is.EqualTo(Rule(b)), $"block {b}");
        }
        // Spelled out where eviction starts (block 4 no longer sees frames 3..5).
        Assert.That(seen[4], Is.EqualTo(new long[] { 0, 1, 2, 6, 7, 8, 9, 10, 11, 12, 13, 14 }));
        Assert.That(seen[8], Is.EqualTo(new long[] { 0, 1, 2, 18, 19, 20, 21, 22, 23, 24, 25, 26 }));
    }

    [Test]
    public void ALongLiveSwitchStoresWhatItsUnmaskedRecacheWouldAndKeepsTheSinks()
    {
        // Five blocks (frames 0..14; cached: 0-2 and 6-14), then a switch. LongLive re-runs frames
        // 3..14 in one unmasked forward, every query seeing the old sinks and the fresh K/V of
        // frames 6..14 (frames 3..5 land in protected sink slots: computed, discarded).
        using var model = EngineTestKit.Model("reference");
        var (session, blocks) = Stream(model, OneStep, 5);
        using (session)
        {
            int layers = model.Config.Layers;
            long sinkRows = 3L * model.Config.FrameTokens;
            var sinksK = Enumerable.Range(0, layers).Select(l => Floats(session.Cache.Keys(l).Slice(1, 0, sinkRows))).ToArray();
            var sinksV = Enumerable.Range(0, layers).Select(l => Floats(session.Cache.Values(l).Slice(1, 0, sinkRows))).ToArray();
            Assert.That(session.SinksKeptOnSwitch, Is.EqualTo(3), "15 frames > the 12-frame cache: an eviction happened, the sinks are kept");
            using (var second = EngineTestKit.Text(model.Config, 2))
            {
                session.SwitchPrompt(second);
            }
            var oracle = LongLiveRecache(model, blocks, first: 3, frames: 12, protectedFrames: 3, sinksK, sinksV);
            for (int l = 0; l < layers; l++)
            {
                Assert.That(Floats(session.Cache.Keys(l).Slice(1, 0, sinkRows)), Is.EqualTo(sinksK[l]), $"layer {l}: sink K write-protected");
                Assert.That(Floats(session.Cache.Values(l).Slice(1, 0, sinkRows)), Is.EqualTo(sinksV[l]), $"layer {l}: sink V write-protected");
            }
            AssertStored(model, session.Cache, oracle, firstStored: 6, count: 9);

            // The mask matters: the block-causal re-run stores other K/V for the same frames.
            var (causal, _) = Stream(model, OneStep with { Recache = RecacheMask.BlockCausal, SwitchSinks = SinkSwitch.Keep }, 5);
            using (causal)
            {
                using (var second = EngineTestKit.Text(model.Config, 2))
                {
                    causal.SwitchPrompt(second);
                }
                int last = layers - 1;
                Assert.That(EngineTestKit.RelL2(Floats(session.Cache.Keys(last)), Floats(causal.Cache.Keys(last))), Is.GreaterThan(1e-4));
            }
        }
    }

    [Test]
    public void ASwitchBeforeTheFirstEvictionReRunsTheSinksUnderTheNewPrompt()
    {
        // Two blocks (frames 0..5 <= 12): LongLive's re-run starts at frame 0 (recache_start_frame
        // == 0), nothing is protected, and all six frames are re-run unmasked: a full unmasked
        // forward of the clean frames under the new prompt.
        using var model = EngineTestKit.Model("reference");
        var (session, blocks) = Stream(model, OneStep, 2);
        using (session)
        {
            Assert.That(session.SinksKeptOnSwitch, Is.EqualTo(0));
            using (var second = EngineTestKit.Text(model.Config, 2))
            {
                session.SwitchPrompt(second);
            }
            var oracle = LongLiveRecache(model, blocks, first: 0, frames: 6, protectedFrames: 0, null, null);
            AssertStored(model, session.Cache, oracle, firstStored: 0, count: 6);
        }

        // The engine's block-causal mode keeps the sinks, bit for bit, at any time.
        var (kept, _) = Stream(model, OneStep with { Recache = RecacheMask.BlockCausal, SwitchSinks = SinkSwitch.Keep }, 2);
        using (kept)
        {
            long sinkRows = 3L * model.Config.FrameTokens;
            int last = model.Config.Layers - 1;
            var before = kept.Cache.Keys(last).Slice(1, 0, sinkRows).ToBytes();
            using (var second = EngineTestKit.Text(model.Config, 2))
            {
                kept.SwitchPrompt(second);
            }
            Assert.That(kept.Cache.Keys(last).Slice(1, 0, sinkRows).ToBytes(), Is.EqualTo(before));
        }
    }

    private static (StreamingSession Session, LatentBlock[] Blocks) Stream(WanModel model, StreamOptions options, int blocks)
    {
        using var text = EngineTestKit.Text(model.Config, 1);
        var session = new StreamingSession(model, text, options);
        return (session, Enumerable.Range(0, blocks).Select(_ => session.GenerateBlock()).ToArray());
    }

    private static float[] Floats(Tensor t) => t.ToDoubles().Select(x => (float)x).ToArray();

    // LongLive's recache, as its code runs it, on the clean frames [first, first + frames) under
    // prompt 2: returns each layer's fresh K (rotated at the absolute frames) and V of the frames
    // after the protected ones.
    private static (float[] K, float[] V)[] LongLiveRecache(WanModel model, LatentBlock[] blocks, long first, int frames, int protectedFrames, float[][]? sinksK, float[][]? sinksV)
    {
        var c = model.Config;
        var latents = LatentFrames.Slice(c, LatentFrames.Concat(c, blocks.Select(b => b.Latents).ToArray()), blocks.Length * 3, (int)first, frames);
        using var text = EngineTestKit.Text(c, 2);
        using var prompt = model.EncodeText(text);
        var attention = new UnmaskedRecache(model, first, protectedFrames, sinksK, sinksV);
        model.Forward(latents, frames, Enumerable.Repeat(0.0, frames).ToArray(), prompt, attention);
        return attention.Stored;
    }

    private static void AssertStored(WanModel model, KvCache cache, (float[] K, float[] V)[] oracle, long firstStored, int count)
    {
        var c = model.Config;
        long t = c.FrameTokens;
        for (int l = 0; l < c.Layers; l++)
        {
            var k = new List<float>();
            var v = new List<float>();
            for (long f = firstStored; f < firstStored + count; f++)
            {
                long row = cache.SlotOf(f) * t;
                k.AddRange(Floats(cache.Keys(l).Slice(1, row, t)));
                v.AddRange(Floats(cache.Values(l).Slice(1, row, t)));
            }
            Assert.That(EngineTestKit.RelL2(oracle[l].K, k.ToArray()), Is.LessThan(1e-6), $"K of layer {l}");
            Assert.That(EngineTestKit.RelL2(oracle[l].V, v.ToArray()), Is.LessThan(1e-6), $"V of layer {l}");
        }
    }

    // Self-attention of LongLive's recache forward: queries are every re-run frame; keys are the old
    // sinks (when kept) and the fresh K/V of the frames after the protected ones; no mask.
    private sealed class UnmaskedRecache(WanModel model, long first, int protectedFrames, float[][]? sinksK, float[][]? sinksV) : ISelfAttention
    {
        public (float[] K, float[] V)[] Stored { get; } = new (float[], float[])[model.Config.Layers];

        public void Attend(WanLayer layer, ForwardScratch s)
        {
            var c = model.Config;
            long t = c.FrameTokens;
            model.Qk.NormRope(s.Q, layer.NormQ, s.QRot, s.QNorm, s.Frames, first);
            model.Qk.NormRope(s.K, layer.NormK, s.KRot, s.KNorm, s.Frames, first);
            long skip = protectedFrames * t;
            long fresh = s.Tokens - skip;
            long sinks = sinksK is null ? 0 : sinksK[layer.Index].Length / c.Dim;
            var shape = new Shape(1, sinks + fresh, c.Heads, c.HeadDim);
            using var k = model.Backend.Allocate(s.KRot.DType, shape, "longlive_k");
            using var v = model.Backend.Allocate(s.V.DType, shape, "longlive_v");
            if (sinks > 0)
            {
                k.Slice(1, 0, sinks).WriteDoubles(sinksK![layer.Index].Select(x => (double)x).ToArray());
                v.Slice(1, 0, sinks).WriteDoubles(sinksV![layer.Index].Select(x => (double)x).ToArray());
            }
            k.Slice(1, sinks, fresh).CopyFrom(s.KRot.Slice(1, skip, fresh));
            v.Slice(1, sinks, fresh).CopyFrom(s.V.Slice(1, skip, fresh));
            Stored[layer.Index] = (Floats(s.KRot.Slice(1, skip, fresh)), Floats(s.V.Slice(1, skip, fresh)));
            model.Kernel.Run(layer, s.QRot, k, v, s.O, AttentionMask.None);
        }
    }
}
