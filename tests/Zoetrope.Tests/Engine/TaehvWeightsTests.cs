// TAEHV weights from files laid out like the published checkpoints (a plain state dict keyed by
// the Sequential's indices, encoder and decoder): safetensors and PyTorch .pth decode exactly as
// the same weights given in memory, the encoder is ignored, a wider TGrow is cut as upstream cuts
// it, and a file that does not fit is refused with every bad key named at once.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class TaehvWeightsTests
{
    private static readonly DiTConfig Dit = DiTConfig.Micro;

    [Test]
    public void TheSmallAndPublishedConfigsFitTheirDiTs()
    {
        Assert.That(TaehvConfig.For(DiTConfig.Micro), Is.EqualTo(TaehvConfig.Small));
        Assert.That(TaehvConfig.For(DiTConfig.Tiny), Is.EqualTo(TaehvConfig.Small));
        Assert.That(TaehvConfig.For(DiTConfig.Wan1_3B), Is.EqualTo(TaehvConfig.Published));
        Assert.That(TaehvConfig.Published.Features, Is.EqualTo(new[] { 256, 128, 64, 64 }));
        // Upstream's decoder: 1 + 3 stages x (3 MemBlocks x 6 + TGrow + conv) + the last conv's weight and bias = 2 + 60 + 2.
        Assert.That(TaehvWeights.Expected(TaehvConfig.Published), Has.Count.EqualTo(64));
    }

    [Test]
    public void TheWorkCountIsEveryWeightTimesThePixelsItRunsOver()
    {
        // Upstream's schedule, layer by layer: a conv does |W| multiply-adds per output pixel
        // (both time taps of a MemBlock's first conv included); per latent pixel of one latent
        // frame, stage s runs frames [1, 1, 2] at [1, 4, 16] pixels, its TGrow and the conv after
        // it at 4x the pixels (the conv on stride x the frames), the last conv on 4 frames of 64.
        var config = TaehvConfig.Published;
        int[] frames = [1, 1, 2], pixels = [1, 4, 16];
        double macs = 0;
        foreach (var (name, shape) in TaehvWeights.Expected(config).Where(e => e.Name.EndsWith(".weight", StringComparison.Ordinal)))
        {
            int index = int.Parse(name.Split('.')[1], System.Globalization.CultureInfo.InvariantCulture);
            int s = Math.Min(2, (index - 3) / 6), at = (index - 3) % 6;
            double runs = index switch
            {
                1 => 1,
                22 => 4 * 64,
                _ when at < 3 => frames[s] * pixels[s],
                _ when at == 4 => frames[s] * pixels[s] * 4,
                _ => frames[s] * TaehvConfig.TimeStrides[s] * pixels[s] * 4,
            };
            macs += runs * shape.ElementCount;
        }
        Assert.That(config.MacsPerLatentPixel(upstream: true), Is.EqualTo(macs));
        // Folding TGrow into the 3x3 only removes work.
        Assert.That(config.MacsPerLatentPixel(upstream: false), Is.LessThan(macs));
        double perFrame = 2 * macs * 60 * 104 / TaehvConfig.TemporalScale;
        TestContext.Out.WriteLine($"taew2_1 at 480x832: {perFrame / 1e9:F1} GFLOP per output frame, {12 * perFrame / 1e12:F2} TFLOP per 12-frame block (upstream's schedule); folded: {config.MacsPerLatentPixel(false) / macs:P1} of it");
    }

    [Test]
    public void ASafetensorsCheckpointWithAnEncoderDecodesAsTheSameWeightsInMemory()
    {
        using var tmp = new TempDirectory("zt-taehv");
        using var weights = TaehvWeights.Random(TaehvConfig.Small, 5);
        using var encoder = Tensor.FromDoubles(new double[64 * 3 * 9], DType.F32, new Shape(64, 3, 3, 3), "encoder.0.weight");
        string path = tmp.File("taew2_1.safetensors");
        SafeTensorsWriter.Write(path, weights.Names.Select(n => new KeyValuePair<string, Tensor>(n, weights[n]))
            .Prepend(new KeyValuePair<string, Tensor>("encoder.0.weight", encoder)));
        AssertSameVideo(path, weights);
    }

    [Test]
    public void APthStateDictInF16WithAWiderTGrowDecodesAsUpstreamLoadsIt()
    {
        using var tmp = new TempDirectory("zt-taehv");
        using var weights = TaehvWeights.Random(TaehvConfig.Small, 6);
        // f16 in the file: the decoder must see the f16 values, so round the in-memory copy too.
        var halves = weights.Names.ToDictionary(n => n, n => weights[n].To(Backends.Host, DType.F16, n));
        try
        {
            // Stage 0's TGrow as a checkpoint trained with time stride 2 holds it: twice the rows,
            // of which upstream's patch_tgrow_layers keeps the last.
            string grow = TaehvWeights.TGrowKey(0);
            var g = halves[grow];
            var wide = new double[g.ElementCount * 2];
            for (long i = 0; i < g.ElementCount; i++)
            {
                wide[i] = 1000;
            }
            g.ToDoubles().CopyTo(wide, g.ElementCount);
            using var wideTensor = Tensor.FromDoubles(wide, DType.F16, new Shape(g.Shape[0] * 2, g.Shape[1], 1, 1), grow);
            var writer = new TorchCheckpointWriter();
            var dict = new PtDict(weights.Names.Select(n => ((object)n, (object)writer.Add(n == grow ? wideTensor : halves[n])))
                .Append(("encoder.0.bias", writer.Add(halves["decoder.22.bias"]))).ToArray());
            string path = tmp.File("taew2_1.pth");
            writer.WriteZip(path, writer.Pickle(dict), "taew2_1");
            using var rounded = TaehvWeightsFrom(halves);
            AssertSameVideo(path, rounded);
        }
        finally
        {
            foreach (var t in halves.Values)
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void EveryMissingUnexpectedAndMisshapedKeyIsNamedAtOnce()
    {
        using var tmp = new TempDirectory("zt-taehv");
        using var weights = TaehvWeights.Random(TaehvConfig.Small, 7);
        using var wrong = Tensor.FromDoubles(new double[8 * 16 * 9], DType.F32, new Shape(8, 16, 3, 3), "decoder.1.weight");
        using var encoder = Tensor.FromDoubles(new double[3], DType.F32, new Shape(3), "encoder.0.bias");
        var entries = weights.Names.Where(n => n != "decoder.22.bias" && n != "decoder.4.conv.2.bias")
            .Select(n => new KeyValuePair<string, Tensor>(n, n == "decoder.1.weight" ? wrong : weights[n]))
            .Append(new("decoder.23.weight", encoder)).Append(new("encoder.0.bias", encoder)).ToList();
        string path = tmp.File("bad.safetensors");
        SafeTensorsWriter.Write(path, entries);
        var e = Assert.Throws<ZoetropeWeightsException>(() => TaehvDecoder.Open(Backends.Host, Dit, DType.F32, path, 1).Dispose())!;
        Assert.That(e.Missing, Is.EqualTo(new[] { "decoder.4.conv.2.bias", "decoder.22.bias" }));
        Assert.That(e.Unexpected, Is.EqualTo(new[] { "decoder.23.weight" }));
        Assert.That(e.Misshaped, Has.Count.EqualTo(1));
        Assert.That(e.Misshaped[0], Is.EqualTo($"decoder.1.weight (expected {new Shape(16, 16, 3, 3)}, got {new Shape(8, 16, 3, 3)})"));
        Assert.That(e.Message, Does.Contain(path).And.Contain("decoder.22.bias").And.Contain("decoder.23.weight").And.Contain("decoder.1.weight"));
        Assert.That(e.Message, Does.Not.Contain("encoder."));
    }

    /// <summary>The same tensors through a plain safetensors file (the f16 values the .pth holds, without the cut).</summary>
    private static TaehvWeights TaehvWeightsFrom(Dictionary<string, Tensor> tensors)
    {
        using var tmp = new TempDirectory("zt-taehv-mem");
        string path = tmp.File("w.safetensors");
        SafeTensorsWriter.Write(path, tensors.Select(p => new KeyValuePair<string, Tensor>(p.Key, p.Value)));
        return TaehvWeights.Load(path, TaehvConfig.Small);
    }

    private static void AssertSameVideo(string path, TaehvWeights expected)
    {
        var latents = TaehvDecoderTests.Latents(Dit, 2, 8);
        using var fromFile = TaehvDecoder.Open(Backends.Host, Dit, DType.F32, path, seed: 99);
        using var inMemory = TaehvDecoder.Create(Backends.Host, expected, DType.F32, Dit.LatentHeight, Dit.LatentWidth);
        Assert.That(fromFile.Decode(latents, 2).Rgb, Is.EqualTo(inMemory.Decode(latents, 2).Rgb));
    }
}
