// WanWeights.Load on a PyTorch .pt checkpoint the test writes itself (nested like Self-Forcing's
// {generator_ema: {model.<key>: tensor}}): the same weights as the safetensors path, bit for bit.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class WanWeightsPyTorchTests
{
    [TestCase(DType.BF16)]
    [TestCase(DType.F32)]
    public void LoadsANestedPtCheckpointBitForBit(DType dtype)
    {
        using var tmp = new TempDirectory("zt-weights-pt");
        using var w = WanWeights.Random(EngineTestKit.Micro, seed: 3, dtype);
        var writer = new TorchCheckpointWriter();
        var inner = new PtDict(w.Names.Select(n => ((object)("model." + n), (object)writer.Add(w[n]))).ToArray());
        var root = new PtDict(("generator_ema", inner), ("step", 1000L)) { Plain = true };
        string path = tmp.File("checkpoint.pt");
        writer.WriteZip(path, writer.Pickle(root), "checkpoint");
        using var loaded = WanWeights.Load(path, EngineTestKit.Micro);
        foreach (var name in w.Names)
        {
            Assert.That(loaded[name].DType, Is.EqualTo(dtype), name);
            Assert.That(loaded[name].ToBytes(), Is.EqualTo(w[name].ToBytes()), name);
        }
    }

    [Test]
    public void AMisshapedPtTensorIsNamedLikeASafetensorsOne()
    {
        using var tmp = new TempDirectory("zt-weights-pt");
        using var w = WanWeights.Random(EngineTestKit.Micro, seed: 3, DType.F32);
        using var wrong = Tensor.FromDoubles(new double[7], DType.F32, new Shape(7), "bad");
        var writer = new TorchCheckpointWriter();
        var inner = new PtDict(w.Names.Select(n => ((object)n, (object)writer.Add(n == "head.head.bias" ? wrong : w[n]))).ToArray());
        string path = tmp.File("checkpoint.pth");
        writer.WriteZip(path, writer.Pickle(inner));
        var e = Assert.Throws<ZoetropeWeightsException>(() => WanWeights.Load(path, EngineTestKit.Micro).Dispose())!;
        Assert.That(e.Message, Does.Contain("head.head.bias"));
    }
}
