// The reference numerics (--match reference) against the PyTorch pipelines' arithmetic, spelled
// out from their code (Self-Forcing / LongLive: utils/scheduler.py, utils/wan_wrapper.py,
// wan/modules/model.py), one piece at a time: the scheduler's fp32 grid, the x0 conversion and
// the re-noise, the time path's bf16 roundings, and what the options refuse.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class ReferenceNumericsTests
{
    private static float Bf16(double v) => BFloat16.FromSingle((float)v).ToSingle();

    [Test]
    public void TheGridGivesThePipelinesFp32Timesteps()
    {
        // warp_denoising_step: [1000, 750, 500, 250] become timesteps[[0, 250, 500, 750]] of the shift-5 grid.
        var grid = FlowSchedule.Torch(5);
        var fed = grid.ModelTimesteps(StreamOptions.Warp([1000, 750, 500, 250], 5));
        Assert.That(fed, Is.EqualTo(new[] { 1000.0, 937.5, 833.33331298828125, 625.0 }));
        Assert.That(grid.Nearest(833.333333).Sigma, Is.EqualTo(2.5f / 3f), "sigma = 5*0.5f / (1 + 4*0.5f) in fp32");
        Assert.That(grid.Nearest(937.5).Sigma, Is.EqualTo(0.9375f));
        Assert.That(grid.ModelTimesteps([0]), Is.EqualTo(new[] { 0.0 }), "the clean re-run's t = 0 is passed as is");
        // The grid's last point (index 999): s = 0.001 in fp32, shifted; t = 0 looks it up (argmin).
        float last = 5f * 0.001f / (1f + (4f * 0.001f));
        Assert.That(grid.Nearest(0).Sigma, Is.EqualTo(last).Within(1e-9));
        Assert.Throws<ArgumentOutOfRangeException>(() => FlowSchedule.Torch(0));
    }

    [Test]
    public void TheSamplerRoundsAsTheWrapperAndTheSchedulerDo()
    {
        float[] x = [Bf16(0.7), Bf16(-1.3), Bf16(2.1)];
        float[] v = [Bf16(0.31), Bf16(0.9), Bf16(-0.45)];
        float sigma = 2.5f / 3f;
        var x0 = new float[3];
        FlowSampler.DenoiseBf16(x, v, sigma, x0);
        for (int j = 0; j < 3; j++)
        {
            // _convert_flow_pred_to_x0: double, then .to(bf16).
            Assert.That(x0[j], Is.EqualTo(Bf16((float)(x[j] - ((double)sigma * v[j])))));
        }
        float[] noise = [Bf16(0.2), Bf16(-0.8), Bf16(1.1)];
        var next = new float[3];
        FlowSampler.RenoiseBf16(x0, noise, 0.625f, next);
        for (int j = 0; j < 3; j++)
        {
            // add_noise: (1 - sigma) * x0 + sigma * noise in fp32 tensors, then type_as(noise).
            float a = (1f - 0.625f) * x0[j];
            float b = 0.625f * noise[j];
            Assert.That(next[j], Is.EqualTo(Bf16(a + b)));
        }

        // The loop rounds the initial noise and every draw to bf16, and uses the grid's sigmas.
        var grid = FlowSchedule.Torch(5);
        double[] steps = [1000, 625];
        float[] start = [0.123456f, -0.987654f, 0.5f];
        float[] redraw = [0.333333f, 0.1f, -0.7f];
        float[] velocity = [0.05f, -0.2f, 0.4f];
        var inputs = new List<float[]>();
        var result = FlowSampler.Run(steps, (float[])start.Clone(), (i, input) =>
        {
            inputs.Add((float[])input.Clone());
            return velocity;
        }, (i, buffer) => redraw.CopyTo(buffer, 0), schedule: grid);
        Assert.That(inputs[0], Is.EqualTo(start.Select(s => Bf16(s)).ToArray()));
        var expected0 = new float[3];
        FlowSampler.DenoiseBf16(inputs[0], velocity, 1f, expected0);
        var expected1 = new float[3];
        FlowSampler.RenoiseBf16(expected0, redraw.Select(r => Bf16(r)).ToArray(), 0.625f, expected1);
        Assert.That(inputs[1], Is.EqualTo(expected1));
        Assert.That(result.All(r => r == Bf16(r)), "the latents are bf16 values");
    }

    [Test]
    public void TheTimePathIsRoundedToBf16AtEveryStage()
    {
        var weights = EngineTestKit.WeightsFor("reference");
        var engine = new TimestepEmbedding(weights).Of(833.33331298828125);
        var reference = new TimestepEmbedding(weights, Rounding.PerOp).Of(833.33331298828125);
        Assert.That(reference.E.All(e => e == Bf16(e)) && reference.E0.All(e => e == Bf16(e)), "e and e0 hold bf16 values");
        Assert.That(reference.E0, Is.Not.EqualTo(engine.E0), "the roundings change the values");
        Assert.That(EngineTestKit.RelL2(engine.E0, reference.E0), Is.LessThan(0.05), "by bf16's precision, not more");
    }

    [Test]
    public void TheReferenceNumericsRefuseWhatThePipelinesDoNotRun()
    {
        Assert.DoesNotThrow(() => ModelOptions.Reference.Validate());
        Assert.That(ModelOptions.Reference.Rounding, Is.EqualTo(Rounding.PerOp));
        foreach (var (bad, word) in new (ModelOptions, string)[]
        {
            (ModelOptions.Reference with { Activations = DType.F32 }, "activations f32"),
            (ModelOptions.Reference with { Linear = Zoetrope.Quant.LinearPath.Int8 }, "linear"),
            (ModelOptions.Reference with { Attention = AttentionMode.Sage }, "attention Sage"),
        })
        {
            var e = Assert.Throws<ArgumentException>(() => bad.Validate())!;
            Assert.That(e.Message, Does.Contain("--match reference").And.Contain(word));
        }
    }

    [Test]
    public void AStreamFeedsTheGridTimestepsAndKeepsBf16Latents()
    {
        using var model = new WanModel(Backends.Get("reference"), EngineTestKit.WeightsFor("reference"), ModelOptions.Reference);
        using var text = EngineTestKit.Text(model.Config, 1);
        using var session = new StreamingSession(model, text, StreamOptions.LongLive with { Seed = 3 });
        var fed = new List<double>();
        session.Step += s =>
        {
            fed.Add(s.Timestep);
            Assert.That(s.Input.All(x => x == Bf16(x)), $"block {s.Block} step {s.Step}: the model's input is bf16");
        };
        var blocks = new[] { session.GenerateBlock(), session.GenerateBlock() };
        Assert.That(fed.Take(5), Is.EqualTo(new[] { 1000.0, 937.5, 833.33331298828125, 625.0, 0.0 }), "four grid steps and the clean re-run");
        Assert.That(blocks.All(b => b.Latents.All(x => x == Bf16(x))), "the latents are bf16 values");
        using var other = EngineTestKit.Text(model.Config, 2);
        Assert.That(session.SwitchPrompt(other), Is.GreaterThan(0));
        Assert.That(session.GenerateBlock().Latents.All(x => x == Bf16(x)));
    }
}
