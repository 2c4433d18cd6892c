// zoe stream/generate's issue-20 options: --recache and --match, refused with the reason before any
// work, and spelled back in the run's header.
using NUnit.Framework;
using Zoetrope.Cli.Commands;
using Zoetrope.Engine;

namespace Zoetrope.Tests.Cli;

[NonParallelizable]
public class FidelityArgsTests
{
    [Test]
    public void RecacheSpellsTheTwoModes()
    {
        var longlive = EngineArgs.Recache(StreamOptions.LongLive, "longlive");
        Assert.That((longlive.Recache, longlive.SwitchSinks), Is.EqualTo((RecacheMask.None, SinkSwitch.KeepAfterEviction)));
        var causal = EngineArgs.Recache(StreamOptions.LongLive, "BLOCK-CAUSAL");
        Assert.That((causal.Recache, causal.SwitchSinks), Is.EqualTo((RecacheMask.BlockCausal, SinkSwitch.Keep)));
        Assert.That(EngineArgs.Label(causal), Is.EqualTo("block-causal"));
        Assert.That(EngineArgs.Label(StreamOptions.LongLive with { SwitchSinks = SinkSwitch.Recompute }), Does.Contain("Recompute"), "a mix no spelling names is shown as its two settings");
        Assert.That(Assert.Throws<ArgumentException>(() => EngineArgs.Recache(StreamOptions.LongLive, "masked"))!.Message,
            Does.Contain("--recache masked").And.Contain("longlive or block-causal"));
    }

    [Test]
    public void MatchReferenceTakesBf16AndRefusesWhatThePipelinesDoNotRun()
    {
        var options = EngineArgs.Options("longlive", null, null, null, null, Zoetrope.Runtime.BackendKind.Reference, "reference");
        Assert.That((options.Match, options.Activations), Is.EqualTo((MatchMode.Reference, Zoetrope.Runtime.DType.BF16)), "bf16 even on a CPU backend");
        var turbo = Assert.Throws<ArgumentException>(() => EngineArgs.Options("turbo", null, null, null, null, Zoetrope.Runtime.BackendKind.Reference, "reference"))!;
        Assert.That(turbo.Message, Does.StartWith("--match reference").And.Contain("linear"));
        var f32 = Assert.Throws<ArgumentException>(() => EngineArgs.Options("longlive", null, null, null, Zoetrope.Runtime.DType.F32, Zoetrope.Runtime.BackendKind.Reference, "reference"))!;
        Assert.That(f32.Message, Does.Contain("activations f32"));
        Assert.That(Assert.Throws<ArgumentException>(() => EngineArgs.Match("pytorch"))!.Message, Does.Contain("engine or reference"));
    }

    [Test]
    public void StreamPrintsTheCacheTheRecacheAndTheNumerics()
    {
        var run = Zoe.Run("stream", "--model", "micro", "--blocks", "2", "--switch-at", "1", "--recache", "block-causal", "--match", "reference", "--no-profile");
        Assert.That(run.Exit, Is.EqualTo(0), run.ToString());
        Assert.That(run.Out, Does.Contain("cache 12 frames (3 sink + last 9), recache block-causal").And.Contain("match reference"));
        Assert.That(run.Out, Does.Contain("3 cached frames re-run at t = 0 (3 sink frames kept)").Or.Contain("0 cached frames re-run"));
        var bad = Zoe.Run("stream", "--model", "micro", "--recache", "nope");
        Assert.That(bad.Exit, Is.Not.EqualTo(0));
        Assert.That(bad.Err + bad.Out, Does.Contain("--recache nope"));
    }
}
