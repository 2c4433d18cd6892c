// The TurboDiffusion options on the command line (issue 18): the turbo preset's kernels, the KV
// format and its per-frame size, configurable timesteps on stream, and what is refused up front.
using NUnit.Framework;

namespace Zoetrope.Tests.Cli;

[TestFixture]
[NonParallelizable]
public sealed class TurboCliTests
{
    [Test]
    public void StreamTurboRunsTheTurboKernelsAndPrintsTheKvBytesPerFrame()
    {
        var run = Zoe.Run("stream", "--model", "micro", "--preset", "turbo", "--blocks", "1", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("bf16, linear w8a8-block, attention sage-sla top-k 0.1, kv float"), run.ToString());
        Assert.That(run.Out, Does.Contain("KV cache per latent frame (micro, all layers): float 1.0 KiB, int8 "), run.ToString());
        Assert.That(run.Out, Does.Contain("warning:").And.Contain("proj_l"), "random weights have no trained proj_l: said so");
    }

    [Test]
    public void StreamSageUsesTheInt8CacheAndAnOverrideBeatsThePreset()
    {
        var run = Zoe.Run("stream", "--model", "micro", "--attention", "sage", "--blocks", "1", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("attention sage, kv int8"), run.ToString());
        var dense = Zoe.Run("stream", "--model", "micro", "--preset", "turbo", "--attention", "dense", "--blocks", "1", "--no-profile");
        Assert.That(dense.Exit, Is.Zero, dense.ToString());
        Assert.That(dense.Out, Does.Contain("linear w8a8-block, attention dense"), dense.ToString());
    }

    [Test]
    public void StreamTimestepsAreConfigurableAndAShiftAloneIsRefused()
    {
        var run = Zoe.Run("stream", "--model", "micro", "--steps", "2", "--shift", "1", "--blocks", "1", "--no-profile");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("steps [1000, 500]"), run.ToString());
        var shift = Zoe.Run("stream", "--model", "micro", "--shift", "3", "--blocks", "1");
        Assert.That(shift.Exit, Is.EqualTo(2), shift.ToString());
        Assert.That(shift.Err, Does.Contain("--shift 3").And.Contain("--steps or --timesteps"), shift.ToString());
    }

    [Test]
    public void GenerateTurboRunsAndAnUnknownPresetIsRefused()
    {
        var run = Zoe.Run("generate", "--model", "micro", "--preset", "turbo", "--frames", "3", "--steps", "2");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("attention sage-sla").And.Contain("warning:"), run.ToString());
        var bad = Zoe.Run("generate", "--model", "micro", "--preset", "longlive");
        Assert.That(bad.Exit, Is.EqualTo(2), bad.ToString());
        Assert.That(bad.Err, Does.Contain("--preset longlive").And.Contain("none or turbo"), bad.ToString());
    }
}
