// PyTorch checkpoints the tests write themselves from the format's definition (TorchCheckpointWriter):
// every dtype round-trips bit for bit, nested dicts flatten, shared storages with offsets read the
// right bytes, and each kind of bad or hostile file gives the typed error naming the problem.
using System.Text;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

[TestFixture]
public sealed class PyTorchFileTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-pt");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static Tensor Values(DType dtype, Shape shape, string name, double scale = 0.37) =>
        Tensor.FromDoubles(Enumerable.Range(0, (int)shape.ElementCount).Select(i => ((i * 7 % 23) - 11) * scale).ToArray(), dtype, shape, name);

    private string Write(TorchCheckpointWriter w, object root, string file = "ckpt.pt", string archive = "archive")
    {
        string path = _tmp.File(file);
        w.WriteZip(path, w.Pickle(root), archive);
        return path;
    }

    [Test]
    public void EveryDTypeRoundTripsBitForBit()
    {
        var sources = new (string Key, Tensor T)[]
        {
            ("blocks.0.bf16", Values(DType.BF16, new Shape(3, 5), "a")),
            ("blocks.0.f16", Values(DType.F16, new Shape(4, 2, 3), "b")),
            ("blocks.0.f32", Values(DType.F32, new Shape(7), "c", 1.0 / 3)),
            ("blocks.0.i8", Values(DType.I8, new Shape(2, 6), "d", 9)),
            ("blocks.0.u8", Tensor.FromDoubles([0, 50, 100, 200, 255], DType.U8, new Shape(5), "e")),
            ("blocks.0.fp8", Values(DType.F8E4M3, new Shape(4, 4), "f", 2.5)),
            ("scalar", Values(DType.F32, new Shape(), "g")),
            ("empty", Values(DType.BF16, new Shape(0, 4), "h")),
        };
        try
        {
            var w = new TorchCheckpointWriter();
            var root = new PtDict(sources.Select(s => ((object)s.Key, (object)w.Add(s.T))).ToArray());
            string path = Write(w, root, "my_model.pth", archive: "my_model");
            using var f = PyTorchFile.Open(path);
            Assert.That(f.Names, Is.EqualTo(sources.Select(s => s.Key)), "the state dict's order");
            Assert.That(f.NonTensors, Is.Empty, "an OrderedDict's _metadata is an attribute, not a key");
            foreach (var (key, src) in sources)
            {
                var e = f.Entry(key);
                Assert.That(e.DType, Is.EqualTo(src.DType), key);
                Assert.That(e.Shape, Is.EqualTo(src.Shape), key);
                Assert.That(e.ByteLength, Is.EqualTo(src.ByteCount), key);
                using var t = f.Load(key);
                Assert.That(t.DType, Is.EqualTo(src.DType), key);
                Assert.That(t.Shape, Is.EqualTo(src.Shape), key);
                Assert.That(t.ToBytes(), Is.EqualTo(src.ToBytes()), key);
            }
            Assert.That(f.Entry("blocks.0.fp8").DTypeName, Is.EqualTo("float8_e4m3fn"));
            Assert.That(f.Entry("blocks.0.bf16").DTypeName, Is.EqualTo("bfloat16"));

            // The same through the format-neutral door.
            using var any = TensorFiles.Open(path);
            Assert.That(any, Is.TypeOf<PyTorchFile>());
            using var viaAny = any.Load("blocks.0.bf16");
            Assert.That(viaAny.ToBytes(), Is.EqualTo(sources[0].T.ToBytes()));
            Assert.That(any.Entry("blocks.0.i8").DTypeName, Is.EqualTo("int8"));
        }
        finally
        {
            foreach (var (_, t) in sources)
            {
                t.Dispose();
            }
        }
    }

    [Test]
    public void NestedDictsFlattenWithDotsAndNonTensorLeavesAreListed()
    {
        using var a = Values(DType.BF16, new Shape(2, 3), "a");
        using var b = Values(DType.BF16, new Shape(3), "b");
        using var c = Values(DType.F32, new Shape(2, 3), "c");
        var w = new TorchCheckpointWriter();
        var root = new PtDict(
            ("generator", new PtDict(("model.a.weight", w.Add(a)), ("model.b", w.Add(b)))),
            ("generator_ema", new PtDict(("model.a.weight", w.Add(c)))),
            ("step", 123456789L),
            ("lr", 0.5),
            ("use_ema", true),
            ("none", null!),
            ("names", new PtList("x", "y", 3L)),
            ("optimizer", new PtDict(("state", new PtDict((0L, new PtDict(("exp_avg_count", 7L)))))) { Plain = true }))
        { Plain = true };
        string path = Write(w, root);
        using var f = PyTorchFile.Open(path);
        Assert.That(f.Names, Is.EqualTo(new[] { "generator.model.a.weight", "generator.model.b", "generator_ema.model.a.weight" }));
        Assert.That(f.NonTensors.Keys, Is.EquivalentTo(new[] { "step", "lr", "use_ema", "none", "names", "optimizer.state.0.exp_avg_count" }));
        Assert.That(f.NonTensors["names"], Is.EqualTo("a list of 3"));
        using var ema = f.Load("generator_ema.model.a.weight");
        Assert.That(ema.ToBytes(), Is.EqualTo(c.ToBytes()));
        using var gb = f.Load("generator.model.b");
        Assert.That(gb.ToDoubles(), Is.EqualTo(b.ToDoubles()));
    }

    [Test]
    public void TensorsSharingAStorageReadTheirOwnBytes()
    {
        // One float storage of 20 elements; three views at different offsets (the third with a
        // size-1 dim whose stride is arbitrary, which PyTorch allows and row-major ignores).
        var values = Enumerable.Range(0, 20).Select(i => i * 1.5 - 4).ToArray();
        using var storage = Tensor.FromDoubles(values, DType.F32, new Shape(20), "s");
        var w = new TorchCheckpointWriter();
        w.Storages["0"] = storage.ToBytes();
        var root = new PtDict(
            ("a", new PtTensor("0", "FloatStorage", 20, 0, [2, 3], [3, 1])),
            ("b", new PtTensor("0", "FloatStorage", 20, 6, [14], [1])),
            ("c", new PtTensor("0", "FloatStorage", 20, 8, [2, 1, 3], [3, 99, 1])));
        string path = Write(w, root);
        using var f = PyTorchFile.Open(path);
        using var ta = f.Load("a");
        using var tb = f.Load("b");
        using var tc = f.Load("c");
        Assert.That(ta.ToDoubles(), Is.EqualTo(values[..6]));
        Assert.That(tb.ToDoubles(), Is.EqualTo(values[6..]));
        Assert.That(tc.ToDoubles(), Is.EqualTo(values[8..14]));
        Assert.That(f.Entry("b").ByteOffset, Is.EqualTo(24));
        Assert.That(f.Entry("c").Record, Is.EqualTo("archive/data/0"));
    }

    private static IEnumerable<TestCaseData> Hostile()
    {
        yield return new TestCaseData(new PtCall("builtins", "eval", ["__import__('os').system('touch PWNED')"]), "builtins.eval").SetName("GLOBAL builtins.eval");
        yield return new TestCaseData(new PtCall("os", "system", ["touch PWNED"], StackGlobal: true), "os.system").SetName("STACK_GLOBAL os.system");
        yield return new TestCaseData(new PtCall("posix", "system", ["touch PWNED"]), "posix.system").SetName("GLOBAL posix.system");
        yield return new TestCaseData(new PtCall("torch.storage", "_load_from_bytes", ["x"]), "torch.storage._load_from_bytes").SetName("torch.storage._load_from_bytes");
        yield return new TestCaseData(new PtCall("numpy.core.multiarray", "_reconstruct", [1L]), "numpy.core.multiarray._reconstruct").SetName("numpy reconstruct");
        yield return new TestCaseData(new PtCall("torch", "load", ["other.pt"]), "torch.load").SetName("torch.load");
    }

    [TestCaseSource(nameof(Hostile))]
    public void AnyOtherGlobalIsRefusedByNameAndOffsetBeforeAnythingRuns(PtCall call, string fullName)
    {
        using var t = Values(DType.F32, new Shape(2), "t");
        var w = new TorchCheckpointWriter();
        var root = new PtDict(("weight", w.Add(t)), ("payload", call));
        var pickle = w.Pickle(root);
        string path = _tmp.File("evil.pt");
        w.WriteZip(path, pickle);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain($"'{fullName}'"));
        Assert.That(e.Message, Does.Contain("archive/data.pkl"));
        Assert.That(e.File, Is.EqualTo(path));
        // The offset is the opcode that named the global: GLOBAL 'c' or STACK_GLOBAL 0x93.
        long expected = call.StackGlobal
            ? Array.LastIndexOf(pickle, (byte)0x93)
            : IndexOf(pickle, Encoding.ASCII.GetBytes($"c{call.Module}\n{call.Name}\n"));
        Assert.That(e.Offset, Is.EqualTo(expected));
        Assert.That(File.Exists(Path.Combine(Environment.CurrentDirectory, "PWNED")), Is.False);
    }

    [Test]
    public void ANonContiguousTensorIsRefusedByKey()
    {
        using var t = Values(DType.F32, new Shape(6), "t");
        var w = new TorchCheckpointWriter();
        w.Storages["0"] = t.ToBytes();
        var root = new PtDict(("blocks.0.ok", new PtTensor("0", "FloatStorage", 6, 0, [6], [1])),
            ("blocks.0.transposed", new PtTensor("0", "FloatStorage", 6, 0, [2, 3], [1, 2])));
        string path = Write(w, root);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("'blocks.0.transposed'").And.Contain("not contiguous").And.Contain("stride (1, 2)"));
    }

    [Test]
    public void ATruncatedStorageIsRefusedWithTheRecordAndOffset()
    {
        using var a = Values(DType.F32, new Shape(2, 3), "a");
        using var b = Values(DType.BF16, new Shape(8), "b");
        var w = new TorchCheckpointWriter();
        var root = new PtDict(("a", w.Add(a)), ("head.weight", w.Add(b)));
        string path = _tmp.File("cut.pt");
        var storages = new Dictionary<string, byte[]>(w.Storages) { ["1"] = w.Storages["1"][..10] };
        w.WriteZip(path, w.Pickle(root), storages: storages);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.File, Is.EqualTo(path));
        Assert.That(e.Offset, Is.EqualTo(10));
        Assert.That(e.Message, Does.Contain("archive/data/1").And.Contain("truncated").And.Contain("'head.weight'").And.Contain("16 bytes"));
    }

    [Test]
    public void ATensorPastItsStorageIsRefusedByKey()
    {
        using var t = Values(DType.F16, new Shape(4), "t");
        var w = new TorchCheckpointWriter();
        w.Storages["0"] = t.ToBytes();
        var root = new PtDict(("w", new PtTensor("0", "HalfStorage", 4, 2, [3], [1])));
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(Write(w, root)).Dispose())!;
        Assert.That(e.Message, Does.Contain("'w'").And.Contain("needs bytes 4..10 of storage '0', which has 8"));
    }

    [Test]
    public void ADTypeZoetropeDoesNotHoldIsListedAndRefusedOnLoad()
    {
        var w = new TorchCheckpointWriter();
        w.Storages["0"] = new byte[16];
        var root = new PtDict(("num_batches_tracked", new PtTensor("0", "LongStorage", 2, 0, [2], [1])));
        using var f = PyTorchFile.Open(Write(w, root));
        Assert.That(f.Entry("num_batches_tracked").DType, Is.Null);
        Assert.That(f.Entry("num_batches_tracked").DTypeName, Is.EqualTo("int64"));
        var e = Assert.Throws<ZoetropeFormatException>(() => f.Load("num_batches_tracked").Dispose())!;
        Assert.That(e.Message, Does.Contain("'num_batches_tracked'").And.Contain("int64"));
    }

    [Test]
    public void FilesThatAreNotZipCheckpointsSayWhatTheyAre()
    {
        string legacy = _tmp.File("legacy.pt");
        File.WriteAllBytes(legacy, [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]);
        var e = Assert.Throws<ZoetropeFormatException>(() => TensorFiles.Open(legacy).Dispose())!;
        Assert.That(e.Message, Does.Contain("legacy"));

        string safetensors = _tmp.File("w.safetensors");
        using (var t = Values(DType.F32, new Shape(2), "t"))
        {
            SafeTensorsWriter.Write(safetensors, [new("t", t)]);
        }
        string renamed = _tmp.File("renamed.pt");
        File.Copy(safetensors, renamed);
        e = Assert.Throws<ZoetropeFormatException>(() => TensorFiles.Open(renamed).Dispose())!;
        Assert.That(e.Message, Does.Contain("not a PyTorch zip checkpoint"));
        using var st = TensorFiles.Open(safetensors);
        Assert.That(st.Names, Is.EqualTo(new[] { "t" }));
        Assert.That(st.Entry("t").DTypeName, Is.EqualTo("F32"));

        string noPickle = _tmp.File("nopickle.pt");
        using (var zip = new System.IO.Compression.ZipArchive(File.Create(noPickle), System.IO.Compression.ZipArchiveMode.Create))
        {
            zip.CreateEntry("archive/version");
        }
        e = Assert.Throws<ZoetropeFormatException>(() => TensorFiles.Open(noPickle).Dispose())!;
        Assert.That(e.Message, Does.Contain("data.pkl"));
    }

    [Test]
    public void ADictInsideItselfAndNonDictRootsAreRefused()
    {
        // {'a': <memo 1>} where memo 1 is the dict itself: PROTO 2, EMPTY_DICT, BINPUT 1, 'a', BINGET 1, SETITEM, STOP.
        byte[] cycle = [0x80, 2, (byte)'}', (byte)'q', 1, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'h', 1, (byte)'s', (byte)'.'];
        var w = new TorchCheckpointWriter();
        string path = _tmp.File("cycle.pt");
        w.WriteZip(path, cycle);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("contains itself"));

        w.WriteZip(path, w.Pickle(new PtList(1L, 2L)));
        e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("not a dict of tensors"));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        for (int i = 0; i + needle.Length <= haystack.Length; i++)
        {
            if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
            {
                return i;
            }
        }
        return -1;
    }
}
