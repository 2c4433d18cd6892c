using System.Buffers.Binary;
using System.Text;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

/// <summary>safetensors: round trips, zero-copy views and their lifetime, and header validation.</summary>
public class SafeTensorsTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-st");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private string File(string name) => _tmp.File(name);

    internal static byte[] Handmade(string json, int dataBytes)
    {
        var h = Encoding.UTF8.GetBytes(json);
        var b = new byte[8 + h.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)h.Length);
        h.CopyTo(b, 8);
        return b;
    }

    [Test]
    public void EveryDtypeRoundTripsWithMetadata()
    {
        var tensors = DTypes.All.Select((d, i) => new KeyValuePair<string, Tensor>(
            $"blocks.{i}.{d.Name()}", Tensor.FromDoubles(Enumerable.Range(0, 6).Select(k => (double)(k - 2)).ToArray(), d, new Shape(2, 3), d.Name()))).ToList();
        string path = File("all.safetensors");
        SafeTensorsWriter.Write(path, tensors, new Dictionary<string, string> { ["format"] = "pt" });
        using var f = SafeTensorsFile.Open(path);
        Assert.That(f.Metadata["format"], Is.EqualTo("pt"));
        Assert.That(f.Names, Is.EqualTo(tensors.Select(t => t.Key)));
        foreach (var (name, t) in tensors)
        {
            using var view = f.View(name);
            using var copy = f.Load(name);
            Assert.That(view.DType, Is.EqualTo(t.DType));
            Assert.That(view.Shape, Is.EqualTo(t.Shape));
            Assert.That(view.ToBytes(), Is.EqualTo(t.ToBytes()), name);
            Assert.That(copy.ToBytes(), Is.EqualTo(t.ToBytes()), name);
            t.Dispose();
        }
        long headerSize = BinaryPrimitives.ReadInt64LittleEndian(System.IO.File.ReadAllBytes(path));
        Assert.That(headerSize % 8, Is.Zero, "header padded to 8 bytes");
    }

    [Test]
    public void ViewsOutliveTheFileAndRefuseWrites()
    {
        string path = File("v.safetensors");
        using (var w = Tensor.FromDoubles([1, 2, 3], DType.F32, new Shape(3), "w"))
        {
            SafeTensorsWriter.Write(path, [new("w", w)]);
        }
        var f = SafeTensorsFile.Open(path);
        var view = f.View("w");
        f.Dispose();
        Assert.That(view.ToDoubles(), Is.EqualTo(new double[] { 1, 2, 3 }), "the mapping stays while a view lives");
        Assert.Throws<InvalidOperationException>(() => view.WriteDoubles([0, 0, 0]));
        Assert.Throws<ObjectDisposedException>(() => f.View("w"));
        view.Dispose();
        Assert.Throws<ObjectDisposedException>(() => view.ToDoubles());
    }

    [Test]
    public void UnsupportedDtypesAreListedButRefusedByName()
    {
        string path = File("i64.safetensors");
        System.IO.File.WriteAllBytes(path, Handmade("{\"pos\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16));
        using var f = SafeTensorsFile.Open(path);
        Assert.That(f.Entry("pos").DTypeName, Is.EqualTo("I64"));
        var e = Assert.Throws<ZoetropeFormatException>(() => f.Load("pos"))!;
        Assert.That(e.Message, Does.Contain("'pos'").And.Contain("I64"));
        var missing = Assert.Throws<ArgumentException>(() => f.Load("nope"))!;
        Assert.That(missing.Message, Does.Contain("pos"));
    }

    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "after the last tensor")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "belong to no tensor")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 6, "overlaps")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "truncated")]
    [TestCase("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype")]
    [TestCase("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative")]
    [TestCase("[1,2]", 0, "not a JSON object")]
    [TestCase("{\"a\":", 0, "not valid JSON")]
    public void InvalidHeadersNameTheFileAndProblem(string json, int dataBytes, string fragment)
    {
        string path = File("bad.safetensors");
        System.IO.File.WriteAllBytes(path, Handmade(json, dataBytes));
        var e = Assert.Throws<ZoetropeFormatException>(() => SafeTensorsFile.Open(path))!;
        Assert.That(e.File, Is.EqualTo(path));
        Assert.That(e.Message, Does.Contain(fragment).And.Contain("at byte"));
    }

    [Test]
    public void ImplausibleHeaderSizeIsRejectedBeforeReading()
    {
        string path = File("huge.safetensors");
        var b = Handmade("{}", 0);
        BinaryPrimitives.WriteUInt64LittleEndian(b, ulong.MaxValue);
        System.IO.File.WriteAllBytes(path, b);
        var e = Assert.Throws<ZoetropeFormatException>(() => SafeTensorsFile.Open(path))!;
        Assert.That(e.Offset, Is.Zero);
        System.IO.File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Throws<ZoetropeFormatException>(() => SafeTensorsFile.Open(path));
    }
}
