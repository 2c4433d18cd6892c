// The streaming path against the one-shot forward: block by block through the rolling cache,
// every model output (each denoising step and the clean re-run) must equal the block's rows of a
// full-sequence forward over [clean earlier blocks at t = 0, this block's input at its t] under
// the block-causal mask with the same window and sinks. Windows small enough to evict.
using NUnit.Framework;
using Zoetrope.Attention.Flash;
using Zoetrope.Engine;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class StreamingEquivalenceTests
{
    private static readonly double[] TwoSteps = [1000, 625];

    public static IEnumerable<TestCaseData> Cases()
    {
        // reference runs the tiny preset; ilgpu-cpu the micro one, fewer cases (its tiled GEMM
        // pays a barrier per thread per tile on the CPU accelerator).
        yield return new TestCaseData("reference", 6, 0, RopePolicy.Absolute, false, 4).SetName("reference: window 6, no sinks, evicting");
        yield return new TestCaseData("reference", 6, 3, RopePolicy.Absolute, false, 4).SetName("reference: window 6 + sink 3, evicting");
        yield return new TestCaseData("reference", 12, 3, RopePolicy.CacheRelative, false, 3).SetName("reference: cache-relative, no eviction");
        yield return new TestCaseData("reference", 6, 3, RopePolicy.Absolute, true, 2).SetName("reference: deep-sink realigned, no eviction");
        yield return new TestCaseData("ilgpu-cpu", 3, 3, RopePolicy.Absolute, false, 3).SetName("ilgpu-cpu: window 3 + sink 3, evicting");
        yield return new TestCaseData("ilgpu-cpu", 9, 3, RopePolicy.CacheRelative, false, 2).SetName("ilgpu-cpu: cache-relative, no eviction");
    }

    [TestCaseSource(nameof(Cases))]
    public void StreamEqualsFullSequenceForward(string backend, int window, int sinks, RopePolicy rope, bool realign, int blocks)
    {
        var options = new StreamOptions { WindowFrames = window, SinkFrames = sinks, Rope = rope, RealignSinks = realign, Timesteps = TwoSteps, Seed = 3 };
        using var model = EngineTestKit.Model(backend);
        var c = model.Config;
        using var text = EngineTestKit.Text(c, 1);
        using var session = new StreamingSession(model, text, options);
        var traces = new List<StepTrace>();
        session.Step += traces.Add;
        var clean = new List<float[]>();
        for (int b = 0; b < blocks; b++)
        {
            clean.Add(session.GenerateBlock().Latents);
        }
        Assert.That(traces, Has.Count.EqualTo(blocks * (TwoSteps.Length + 1)));

        using var prompt = model.EncodeText(text);
        var full = new FullSequenceAttention(model, FullSequenceAttention.StreamMask(c, options));
        double worst = 0;
        int f = options.BlockFrames;
        float[] Full(StepTrace trace, FullSequenceAttention attention)
        {
            var input = LatentFrames.Concat(c, [.. clean.Take(trace.Block), trace.Input]);
            int frames = (trace.Block + 1) * f;
            var times = Enumerable.Repeat(0.0, trace.Block * f).Concat(Enumerable.Repeat(trace.Timestep, f)).ToArray();
            return LatentFrames.Slice(c, model.Forward(input, frames, times, prompt, attention), frames, trace.Block * f, f);
        }
        foreach (var trace in traces)
        {
            double err = EngineTestKit.RelL2(Full(trace, full), trace.Velocity);
            Assert.That(err, Is.LessThanOrEqualTo(1e-4), $"block {trace.Block} step {trace.Step}");
            worst = Math.Max(worst, err);
        }
        if ((blocks * f) > window + sinks)
        {
            // The control: without the window, the last block must come out different, so the
            // agreement above is the window's doing and not a test that cannot fail.
            var unwindowed = new FullSequenceAttention(model, AttentionMask.BlockCausal(f * c.FrameTokens));
            Assert.That(EngineTestKit.RelL2(Full(traces[^1], unwindowed), traces[^1].Velocity), Is.GreaterThan(1e-3));
        }
        TestContext.Out.WriteLine($"worst relL2 {worst:E2} over {traces.Count} forwards");
    }
}
