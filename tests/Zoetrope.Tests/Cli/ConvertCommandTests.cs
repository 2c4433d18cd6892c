using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;
using Zoetrope.Tests.IO;

namespace Zoetrope.Tests.Cli;

/// <summary><c>zoe convert</c>, in-process: a .pt rewritten as safetensors reads back equal; --prefix keeps one copy; bad input exits 2 naming it.</summary>
[NonParallelizable]
public class ConvertCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-convert");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private (string Path, Tensor[] Sources) SelfForcingLike()
    {
        var sources = new[]
        {
            Tensor.FromDoubles(Enumerable.Range(0, 12).Select(i => i * 0.5 - 3).ToArray(), DType.BF16, new Shape(3, 4), "a"),
            Tensor.FromDoubles([1, 2, 3], DType.F32, new Shape(3), "b"),
            Tensor.FromDoubles(Enumerable.Range(0, 12).Select(i => i * -0.25).ToArray(), DType.BF16, new Shape(3, 4), "ema_a"),
            Tensor.FromDoubles([4, 5, 6], DType.F32, new Shape(3), "ema_b"),
            Tensor.FromDoubles([0.5, -2, 448, 0], DType.F8E4M3, new Shape(2, 2), "ema_fp8"),
        };
        var w = new TorchCheckpointWriter();
        var root = new PtDict(
            ("generator", new PtDict(("model.a", w.Add(sources[0])), ("model.b", w.Add(sources[1])))),
            ("generator_ema", new PtDict(("model.a", w.Add(sources[2])), ("model.b", w.Add(sources[3])), ("model.q", w.Add(sources[4])))),
            ("step", 600L))
        { Plain = true };
        string path = _tmp.File("self_forcing_dmd.pt");
        w.WriteZip(path, w.Pickle(root), "self_forcing_dmd");
        return (path, sources);
    }

    [Test]
    public void ConvertsEveryTensorAndReadsBackEqual()
    {
        var (pt, sources) = SelfForcingLike();
        try
        {
            string outPath = _tmp.File("all.safetensors");
            var run = Zoe.Run("convert", pt, outPath);
            Assert.That(run.Exit, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("wrote 5 tensors, 76 bytes"));
            Assert.That(run.Out, Does.Contain("bf16 x 2 (48 bytes)").And.Contain("f32 x 2 (24 bytes)").And.Contain("fp8_e4m3 x 1 (4 bytes)"));
            Assert.That(run.Out, Does.Contain("step (an int)"));
            using var st = SafeTensorsFile.Open(outPath);
            using var src = PyTorchFile.Open(pt);
            Assert.That(st.Names, Is.EquivalentTo(src.Names));
            foreach (var name in src.Names)
            {
                using var a = src.Load(name);
                using var b = st.Load(name);
                Assert.That(b.DType, Is.EqualTo(a.DType), name);
                Assert.That(b.Shape, Is.EqualTo(a.Shape), name);
                Assert.That(b.ToBytes(), Is.EqualTo(a.ToBytes()), name);
            }
        }
        finally
        {
            foreach (var t in sources)
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void PrefixKeepsOneCopyAndStripsIt()
    {
        var (pt, sources) = SelfForcingLike();
        try
        {
            string outPath = _tmp.File("ema.safetensors");
            var run = Zoe.Run("convert", pt, outPath, "--prefix", "generator_ema.");
            Assert.That(run.Exit, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Contain("wrote 3 tensors").And.Contain("left out 2 tensors"));
            using var st = SafeTensorsFile.Open(outPath);
            Assert.That(st.Names, Is.EquivalentTo(new[] { "model.a", "model.b", "model.q" }));
            using var a = st.Load("model.a");
            Assert.That(a.ToBytes(), Is.EqualTo(sources[2].ToBytes()));
            using var q = st.Load("model.q");
            Assert.That(q.DType, Is.EqualTo(DType.F8E4M3));
            Assert.That(q.ToBytes(), Is.EqualTo(sources[4].ToBytes()));
        }
        finally
        {
            foreach (var t in sources)
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void BadInputExitsTwoNamingIt()
    {
        var (pt, sources) = SelfForcingLike();
        foreach (var t in sources)
        {
            t.Dispose();
        }
        var run = Zoe.Run("convert", pt, _tmp.File("x.safetensors"), "--prefix", "ema.");
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain("--prefix ema.").And.Contain("generator.").And.Contain("generator_ema."));

        run = Zoe.Run("convert", pt, _tmp.File("x.npy"));
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain("*.safetensors"));

        run = Zoe.Run("convert", _tmp.File("missing.pt"), _tmp.File("x.safetensors"));
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain("no such file"));

        string evil = _tmp.File("evil.pt");
        var w = new TorchCheckpointWriter();
        w.WriteZip(evil, w.Pickle(new PtDict(("x", new PtCall("builtins", "exec", ["print(1)"])))));
        run = Zoe.Run("convert", evil, _tmp.File("x.safetensors"));
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain("'builtins.exec'"));
        Assert.That(File.Exists(_tmp.File("x.safetensors")), Is.False);
    }
}
