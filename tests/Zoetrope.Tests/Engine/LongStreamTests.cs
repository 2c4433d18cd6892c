// Unbounded streaming: 2,000 blocks (6,000 latent frames, far past the 1024-position RoPE table)
// under the cache-relative policy, with memory flat after warm-up; and the absolute policy's
// clear stop before the table runs out. The micro member of the tiny family keeps it under a minute.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class LongStreamTests
{
    private static readonly StreamOptions Fast = StreamOptions.LongLive with { Timesteps = [1000], KvWrite = KvWriteMode.KeepLastStep };

    private static WanModel Micro() => new(Backends.Host, EngineTestKit.WeightsFor("ilgpu-cpu"), new ModelOptions { Activations = DType.F32 });

    [Test]
    public void TwoThousandBlocksCacheRelativeWithBoundedMemory()
    {
        using var model = Micro();
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, Fast with { Rope = RopePolicy.CacheRelative });
        var backend = model.Backend;
        long warmLive = 0, warmManaged = 0;
        for (int b = 0; b < 2000; b++)
        {
            var block = session.GenerateBlock();
            Assert.That(float.IsFinite(block.Latents[^1]), $"block {b}");
            if (b == 99)
            {
                warmLive = backend.LiveBytes;
                warmManaged = GC.GetTotalMemory(forceFullCollection: true);
            }
            if (b >= 99 && b % 100 == 0)
            {
                Assert.That(backend.LiveBytes, Is.EqualTo(warmLive), $"tensor memory grew by block {b}");
            }
        }
        long managed = GC.GetTotalMemory(forceFullCollection: true);
        TestContext.Out.WriteLine($"2000 blocks: live tensors {backend.LiveBytes} B (warm {warmLive}), managed {managed} B (warm {warmManaged}), p50 {session.Metrics.P50Ms:0.00} ms");
        Assert.That(session.FramesGenerated, Is.EqualTo(6000));
        Assert.That(session.Cache.Frames, Has.Count.EqualTo(Fast.SinkFrames + Fast.WindowFrames));
        Assert.That(backend.LiveBytes, Is.EqualTo(warmLive));
        Assert.That(managed - warmManaged, Is.LessThan(512 * 1024), "managed memory grew");
    }

    [Test]
    public void TheAbsolutePolicyStopsCleanlyBeforeTheTableEnds()
    {
        using var model = Micro();
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, Fast);
        for (int b = 0; b < 341; b++)
        {
            session.GenerateBlock(); // frames up to 1022
        }
        var e = Assert.Throws<ZoetropeStreamException>(() => session.GenerateBlock())!;
        Assert.That(e.Message, Does.Contain("1024").And.Contain("cache-relative"));
        Assert.That(session.FramesGenerated, Is.EqualTo(1023), "nothing half-done");
    }
}
