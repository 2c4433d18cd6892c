using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.Cli;

/// <summary><c>zoe stream</c> in-process: the README's main job, its output file and its typed errors.</summary>
[NonParallelizable]
public class StreamCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-stream");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static int Zoe(params string[] args) => Zoetrope.Cli.Program.Main(args);

    [Test]
    public void StreamsTheTinyModelAndWritesLatents()
    {
        string output = _tmp.File("latents.npy");
        Assert.That(Zoe("stream", "--model", "tiny", "--blocks", "2", "--preset", "longlive", "--switch-at", "1", "--out", output), Is.Zero);
        using var latents = Npy.Read(output);
        var c = DiTConfig.Tiny;
        latents.Expect(DType.F32, new Shape(c.LatentChannels, 6, c.LatentHeight, c.LatentWidth));
        Assert.That(latents.ToDoubles().All(double.IsFinite));
    }

    [Test]
    public void TypedErrorsExitTwo()
    {
        Assert.That(Zoe("stream", "--model", "wan-7b"), Is.EqualTo(2));
        Assert.That(Zoe("stream", "--weights", _tmp.File("none.safetensors")), Is.EqualTo(2));
        Assert.That(Zoe("stream", "--attention", "sage", "--blocks", "1"), Is.EqualTo(2));
        string text = _tmp.File("text.npy");
        using (var wrong = Tensor.FromDoubles(new double[12], DType.F32, new Shape(3, 4), "t"))
        {
            Npy.Write(text, wrong);
        }
        Assert.That(Zoe("stream", "--text", text, "--blocks", "1"), Is.EqualTo(2));
        string ckpt = _tmp.File("micro.safetensors");
        using (var w = WanWeights.Random(Zoetrope.Tests.Engine.EngineTestKit.Micro))
        {
            w.Save(ckpt);
        }
        Assert.That(Zoe("stream", "--weights", ckpt, "--blocks", "1"), Is.EqualTo(2));
    }
}
