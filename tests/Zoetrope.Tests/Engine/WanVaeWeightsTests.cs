// WanVaeConfig's key table against vae.py's module tree (spot keys written out by hand from the
// source), its FLOP count against a hand count of the published stack, and WanVaeWeights' loading:
// safetensors and a PyTorch .pth the test writes (with the encoder's keys, which are skipped),
// bit for bit; every missing, unexpected and mis-shaped decoder key named in one error;
// WanVaeDecoder.Open reading the width from the file.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class WanVaeWeightsTests
{
    [Test]
    public void ThePublishedKeysFollowTheSourceModuleTree()
    {
        var c = WanVaeConfig.Published;
        Assert.That(c.Dims, Is.EqualTo(new[] { 384, 384, 384, 192, 96 }));
        var keys = c.ExpectedKeys().ToDictionary(k => k.Name, k => k.Shape);
        // Decoder3d: upsamples = 3 res + resample (x3 stages) + 3 res = 15 modules, indices 0..14.
        Assert.That(keys["conv2.weight"], Is.EqualTo(new Shape(16, 16, 1, 1, 1)));
        Assert.That(keys["decoder.conv1.weight"], Is.EqualTo(new Shape(384, 16, 3, 3, 3)));
        Assert.That(keys["decoder.middle.1.to_qkv.weight"], Is.EqualTo(new Shape(1152, 384, 1, 1)));
        Assert.That(keys["decoder.middle.1.norm.gamma"], Is.EqualTo(new Shape(384, 1, 1)));
        Assert.That(keys["decoder.middle.2.residual.6.weight"], Is.EqualTo(new Shape(384, 384, 3, 3, 3)));
        Assert.That(keys["decoder.upsamples.3.time_conv.weight"], Is.EqualTo(new Shape(768, 384, 3, 1, 1)));
        Assert.That(keys["decoder.upsamples.3.resample.1.weight"], Is.EqualTo(new Shape(192, 384, 3, 3)));
        Assert.That(keys["decoder.upsamples.4.shortcut.weight"], Is.EqualTo(new Shape(384, 192, 1, 1, 1)));
        Assert.That(keys["decoder.upsamples.4.residual.0.gamma"], Is.EqualTo(new Shape(192, 1, 1, 1)));
        Assert.That(keys["decoder.upsamples.7.time_conv.weight"], Is.EqualTo(new Shape(768, 384, 3, 1, 1)));
        Assert.That(keys["decoder.upsamples.8.residual.2.weight"], Is.EqualTo(new Shape(192, 192, 3, 3, 3)));
        Assert.That(keys.ContainsKey("decoder.upsamples.8.shortcut.weight"), Is.False, "192 -> 192 needs no shortcut");
        Assert.That(keys.ContainsKey("decoder.upsamples.11.time_conv.weight"), Is.False, "the third resample is upsample2d");
        Assert.That(keys["decoder.upsamples.11.resample.1.weight"], Is.EqualTo(new Shape(96, 192, 3, 3)));
        Assert.That(keys["decoder.upsamples.12.residual.2.weight"], Is.EqualTo(new Shape(96, 96, 3, 3, 3)));
        Assert.That(keys["decoder.upsamples.14.residual.6.bias"], Is.EqualTo(new Shape(96)));
        Assert.That(keys.ContainsKey("decoder.upsamples.15.residual.0.gamma"), Is.False);
        Assert.That(keys["decoder.head.0.gamma"], Is.EqualTo(new Shape(96, 1, 1, 1)));
        Assert.That(keys["decoder.head.2.weight"], Is.EqualTo(new Shape(3, 96, 3, 3, 3)));
        long parameters = keys.Values.Sum(s => s.ElementCount);
        TestContext.Out.WriteLine($"published decoder: {keys.Count} tensors, {parameters / 1e6:F2} M parameters");
    }

    [Test]
    public void FlopsPerFrameMatchAHandCountOfThePublishedStack()
    {
        // At 60 x 104 latents (480 x 832): per latent frame after the first, 1 frame until the
        // first upsample3d, 2 after it, 4 after the second, each at its own resolution.
        const double P = 60.0 * 104;
        static double Conv(double frames, double px, double cout, double taps, double cin) => 2 * frames * px * cout * taps * cin;
        static double Res(double frames, double px, double cin, double cout) =>
            Conv(frames, px, cout, 27, cin) + Conv(frames, px, cout, 27, cout) + (cin != cout ? Conv(frames, px, cout, 1, cin) : 0);
        double expected = Conv(1, P, 16, 1, 16) + Conv(1, P, 384, 27, 16)
            + (2 * Res(1, P, 384, 384)) + Conv(1, P, 4 * 384, 1, 384) + (2 * 2 * P * P * 384)
            + (3 * Res(1, P, 384, 384)) + Conv(1, P, 768, 3, 384) + Conv(2, 4 * P, 192, 9, 384)
            + Res(2, 4 * P, 192, 384) + (2 * Res(2, 4 * P, 384, 384)) + Conv(2, 4 * P, 768, 3, 384) + Conv(4, 16 * P, 192, 9, 384)
            + (3 * Res(4, 16 * P, 192, 192)) + Conv(4, 64 * P, 96, 9, 192)
            + (3 * Res(4, 64 * P, 96, 96)) + Conv(4, 64 * P, 3, 27, 96);
        double perVideoFrame = WanVaeConfig.Published.DecodeFlopsPerVideoFrame(480, 832);
        TestContext.Out.WriteLine($"Wan2.1 VAE decoder at 480x832: {perVideoFrame / 1e12:F3} TFLOP per video frame, {WanVaeConfig.Published.DecodeFlopsPerLatentFrame(60, 104) / 1e12:F3} per latent frame");
        Assert.That(perVideoFrame, Is.EqualTo(expected / 4).Within(1e-9).Percent);
        Assert.Throws<ArgumentException>(() => WanVaeConfig.Published.DecodeFlopsPerVideoFrame(481, 832));
    }

    [TestCase(DType.F32)]
    [TestCase(DType.BF16)]
    public void SafetensorsAndPthLoadBitForBitSkippingTheEncoder(DType dtype)
    {
        using var tmp = new TempDirectory("zt-wanvae");
        using var w = WanVaeWeights.Random(WanVaeConfig.Tiny, seed: 3, dtype);
        using var encoderConv = Tensor.FromDoubles(new double[32 * 32], dtype, new Shape(32, 32, 1, 1, 1), "conv1.weight");
        using var encoderHead = Tensor.FromDoubles(new double[3 * 8], dtype, new Shape(8, 3, 1, 1, 1), "encoder.conv1.weight");
        var extra = new[] { new KeyValuePair<string, Tensor>("conv1.weight", encoderConv), new KeyValuePair<string, Tensor>("encoder.conv1.weight", encoderHead) };
        string st = tmp.File("vae.safetensors");
        SafeTensorsWriter.Write(st, w.Names.Select(n => new KeyValuePair<string, Tensor>(n, w[n])).Concat(extra));
        var writer = new TorchCheckpointWriter();
        var dict = new PtDict(w.Names.Select(n => ((object)n, (object)writer.Add(w[n])))
            .Concat(extra.Select(e => ((object)e.Key, (object)writer.Add(e.Value)))).ToArray());
        string pth = tmp.File("Wan2.1_VAE.pth");
        writer.WriteZip(pth, writer.Pickle(dict));
        foreach (var path in new[] { st, pth })
        {
            using var loaded = WanVaeWeights.Load(path);
            Assert.That(loaded.Config, Is.EqualTo(WanVaeConfig.Tiny), "the width is read from decoder.head.0.gamma");
            foreach (var n in w.Names)
            {
                Assert.That(loaded[n].ToBytes(), Is.EqualTo(w[n].ToBytes()), $"{Path.GetFileName(path)}: {n}");
            }
        }
    }

    [Test]
    public void EveryBadKeyIsNamedInOneError()
    {
        using var tmp = new TempDirectory("zt-wanvae");
        using var w = WanVaeWeights.Random(WanVaeConfig.Tiny, seed: 3);
        using var stray = Tensor.FromDoubles(new double[4], DType.F32, new Shape(4), "stray");
        using var wrong = Tensor.FromDoubles(new double[5], DType.F32, new Shape(5), "wrong");
        var entries = w.Names
            .Where(n => n is not ("decoder.upsamples.3.time_conv.bias" or "decoder.middle.1.proj.weight"))
            .Select(n => new KeyValuePair<string, Tensor>(n, n == "decoder.head.2.bias" ? wrong : w[n]))
            .Append(new KeyValuePair<string, Tensor>("decoder.upsamples.99.residual.0.gamma", stray))
            .Append(new KeyValuePair<string, Tensor>("post_quant.weight", stray));
        string path = tmp.File("bad.safetensors");
        SafeTensorsWriter.Write(path, entries);
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanVaeWeights.Load(path).Dispose())!;
        Assert.That(e.Missing, Is.EquivalentTo(new[] { "decoder.upsamples.3.time_conv.bias", "decoder.middle.1.proj.weight" }));
        Assert.That(e.Unexpected, Is.EquivalentTo(new[] { "decoder.upsamples.99.residual.0.gamma", "post_quant.weight" }));
        Assert.That(e.Misshaped, Has.Count.EqualTo(1).And.Some.Contain("decoder.head.2.bias"));
        Assert.That(e.Message, Does.Contain("bad.safetensors").And.Contain("decoder.middle.1.proj.weight").And.Contain("post_quant.weight").And.Contain("[3]"));
        Assert.Throws<ZoetropeWeightsException>(() => WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro, DType.F32, path, seed: 0).Dispose());
    }

    [Test]
    public void OpenDecodesWithTheFilesWeights()
    {
        using var tmp = new TempDirectory("zt-wanvae");
        using var w = WanVaeWeights.Random(WanVaeConfig.Tiny, seed: 21);
        string path = tmp.File("vae.safetensors");
        w.Save(path);
        var latents = WanVaeOracleTests.Latents(1, 4, 4, seed: 4);
        using var fromFile = WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro, DType.F32, path, seed: 0);
        using var direct = new WanVaeDecoder(Backends.Host, w, 4, 4, DType.F32);
        using var seeded = WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro, DType.F32, null, seed: 22);
        var expected = direct.Decode(latents, 1).Rgb;
        Assert.That(fromFile.Decode(latents, 1).Rgb, Is.EqualTo(expected));
        Assert.That(seeded.Decode(latents, 1).Rgb, Is.Not.EqualTo(expected), "another seed, other weights");
    }
}
