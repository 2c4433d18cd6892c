// The model's pieces against their definitions: the patch layout both ways (Wan's Conv3d
// feature order in, its unpatchify einsum out), the timestep warp and sinusoid, and the run
// options (W8A8 linears, SLA at ratio 1, bad prompts, Sage in f32 refused by name).
using NUnit.Framework;
using Zoetrope.Attention.Flash;
using Zoetrope.Engine;
using Zoetrope.Quant;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class ModelPartsTests
{
    [Test]
    public void PatchifyReadsConvOrderAndUnpatchifyWritesWanOrder()
    {
        var c = EngineTestKit.Micro;
        int frames = 2, h = c.LatentHeight, w = c.LatentWidth;
        var latents = Enumerable.Range(0, frames * c.FrameLatents).Select(i => (float)i).ToArray();
        var tokens = Patchify.ToTokens(c, latents, frames);
        // token (f=1, i=1, j=0), feature (c=5, kh=1, kw=0) is latent[5, 1, 3, 0]
        int token = (1 * c.FrameTokens) + (1 * c.GridWidth) + 0;
        Assert.That(tokens[(token * c.PatchFeatures) + (5 * 4) + 2], Is.EqualTo(latents[(((5 * frames) + 1) * h + 3) * w + 0]));
        // head feature (kh=1, kw=0, c=5) of that token lands at the same latent element
        var head = new float[tokens.Length];
        head[(token * c.PatchFeatures) + (((1 * 2) + 0) * c.LatentChannels) + 5] = 1;
        var back = Patchify.FromTokens(c, head, frames);
        Assert.That(back[(((5 * frames) + 1) * h + 3) * w + 0], Is.EqualTo(1));
        Assert.That(back.Sum(), Is.EqualTo(1));
        Assert.Throws<ArgumentException>(() => Patchify.ToTokens(c, latents.AsSpan(1), frames));
    }

    [Test]
    public void TimestepsWarpAsSelfForcingAndTheSinusoidIsCosThenSin()
    {
        Assert.That(new StreamOptions().Timesteps, Is.EqualTo(new[] { 1000, 937.5, 833.333333, 625 }).Within(1e-4));
        var s = TimestepEmbedding.Sinusoid(8, 3);
        Assert.That(s[0], Is.EqualTo(Math.Cos(3)).Within(1e-15));
        Assert.That(s[4], Is.EqualTo(Math.Sin(3)).Within(1e-15));
        Assert.That(s[1], Is.EqualTo(Math.Cos(3 * Math.Pow(10000, -0.25))).Within(1e-15));
    }

    [Test]
    public void StreamOptionsRejectWindowsThatAreNotWholeBlocks()
    {
        Assert.Throws<ArgumentException>(() => (StreamOptions.LongLive with { WindowFrames = 10 }).Validate());
        Assert.Throws<ArgumentException>(() => (StreamOptions.LongLive with { SinkFrames = 2 }).Validate());
        Assert.Throws<ArgumentException>(() => (StreamOptions.LongLive with { Timesteps = [500, 900] }).Validate());
        Assert.That(StreamOptions.Preset("deep-sink").SinkFrames, Is.EqualTo(12));
        Assert.Throws<ArgumentException>(() => StreamOptions.Preset("nope"));
        Assert.Throws<ArgumentException>(() => DiTConfig.Get("wan-7b"));
    }

    [Test]
    public void Wan13BKvPoolSizes()
    {
        // REFERENCE.md: 274 MiB per latent frame in bf16, 3.2 GiB for a 12-frame window.
        var c = DiTConfig.Wan1_3B;
        double perFrame = KvCache.PoolBytes(c, 1, DType.BF16) / 1048576.0;
        double window = KvCache.PoolBytes(c, 12, DType.BF16) / 1073741824.0;
        double longlive = KvCache.PoolBytes(c, 15, DType.BF16) / 1073741824.0;
        TestContext.Out.WriteLine($"wan-1.3b bf16: {perFrame:0.0} MiB/frame, W=12 {window:0.00} GiB, longlive sink 3 + W 12 {longlive:0.00} GiB");
        Assert.That(perFrame, Is.EqualTo(274).Within(1));
        Assert.That(window, Is.LessThan(3.3));
    }

    private static float[] OneForward(ModelOptions options, string backend = "reference")
    {
        using var model = EngineTestKit.Model(backend, options);
        using var text = EngineTestKit.Text(model.Config, 3);
        using var prompt = model.EncodeText(text);
        var latents = new float[3 * model.Config.FrameLatents];
        new GaussianNoise(9).Fill(latents);
        return model.Forward(latents, 3, [500, 500, 500], prompt, new FullSequenceAttention(model, AttentionMask.None));
    }

    [Test]
    public void W8A8LinearsStayCloseToF32()
    {
        var exact = OneForward(new ModelOptions { Activations = DType.F32 });
        var int8 = OneForward(new ModelOptions { Activations = DType.F32, Linear = LinearPath.Int8 });
        double err = EngineTestKit.RelL2(exact, int8);
        TestContext.Out.WriteLine($"W8A8 vs f32 relL2 {err:E2}");
        Assert.That(err, Is.GreaterThan(0).And.LessThan(0.05));
    }

    [Test]
    public void Bf16ActivationsStayCloseToF32()
    {
        var exact = OneForward(new ModelOptions { Activations = DType.F32 });
        var bf16 = OneForward(new ModelOptions { Activations = DType.BF16 });
        double err = EngineTestKit.RelL2(exact, bf16);
        TestContext.Out.WriteLine($"bf16 vs f32 relL2 {err:E2}");
        Assert.That(err, Is.GreaterThan(0).And.LessThan(0.03));
    }

    [Test]
    public void SlaAtRatioOneIsDense()
    {
        var dense = OneForward(new ModelOptions { Activations = DType.F32 });
        var sla = OneForward(new ModelOptions { Activations = DType.F32, Attention = AttentionMode.Sla, SparseRatio = 1 });
        Assert.That(EngineTestKit.RelL2(dense, sla), Is.LessThan(1e-6));
    }

    [Test]
    public void SageInF32IsRefusedByNameAndBadPromptsAreNamed()
    {
        var e = Assert.Throws<ArgumentException>(() => EngineTestKit.Model("reference", new ModelOptions { Attention = AttentionMode.Sage, Activations = DType.F32 }));
        Assert.That(e!.Message, Does.Contain("sage").And.Contain("bf16 or f16").And.Contain("f32"));
        using var model = EngineTestKit.Model("reference");
        using var wide = Tensor.FromDoubles(new double[4 * 7], DType.F32, new Shape(4, 7), "prompt_x");
        Assert.That(Assert.Throws<ArgumentException>(() => model.EncodeText(wide))!.Message, Does.Contain("prompt_x").And.Contain("[4, 7]"));
        var values = new double[2 * model.Config.TextDim];
        values[model.Config.TextDim + 3] = double.NaN;
        using var nan = Tensor.FromDoubles(values, DType.F32, new Shape(2, model.Config.TextDim), "prompt_nan");
        Assert.That(Assert.Throws<ArgumentException>(() => model.EncodeText(nan))!.Message, Does.Contain("token 1"));
    }
}
