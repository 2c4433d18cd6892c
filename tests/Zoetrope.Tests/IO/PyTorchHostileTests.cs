// Hostile PyTorch files that random corruption does not find (review of issue 18): a dict shared
// through the memo, which would multiply the keys it flattens to, and a zip directory that claims
// more bytes than its record can hold. Each is refused, typed, before anything is allocated.
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

[TestFixture]
public sealed class PyTorchHostileTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-pt-hostile");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    [Test]
    public void ADictReachedTwiceThroughTheMemoIsRefused()
    {
        // {'a': D, 'b': D} with D one dict: PROTO 2, EMPTY_DICT, BINPUT 1, 'a', EMPTY_DICT, BINPUT 2,
        // SETITEM, 'b', BINGET 2, SETITEM, STOP.
        byte[] shared = [0x80, 2, (byte)'}', (byte)'q', 1, (byte)'X', 1, 0, 0, 0, (byte)'a', (byte)'}', (byte)'q', 2, (byte)'s',
            (byte)'X', 1, 0, 0, 0, (byte)'b', (byte)'h', 2, (byte)'s', (byte)'.'];
        string path = _tmp.File("shared.pt");
        new TorchCheckpointWriter().WriteZip(path, shared);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("reached twice").And.Contain("'b'"));
    }

    [Test]
    public void AZipDirectoryClaimingMoreThanItsRecordHoldsIsRefused()
    {
        var w = new TorchCheckpointWriter();
        using var t = Tensor.FromDoubles([1, 2, 3, 4], DType.F32, new Shape(4), "t");
        var root = new PtDict(("t", w.Add(t)));
        string path = _tmp.File("claims.pt");
        w.WriteZip(path, w.Pickle(root));
        // The central directory entry of archive/data/0: uncompressed size at offset 24 of its header.
        var bytes = File.ReadAllBytes(path);
        byte[] name = "archive/data/0"u8.ToArray();
        int patched = 0;
        for (int i = 0; i + 46 < bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 1 && bytes[i + 3] == 2 &&
                bytes.AsSpan(i + 46, name.Length).SequenceEqual(name) && BitConverter.ToUInt16(bytes, i + 28) == name.Length)
            {
                BitConverter.GetBytes(0xFFFFFFF0u).CopyTo(bytes, i + 24);
                patched++;
            }
        }
        Assert.That(patched, Is.EqualTo(1), "the fixture has one central directory entry for the storage");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<ZoetropeFormatException>(() => PyTorchFile.Open(path).Dispose())!;
        Assert.That(e.Message, Does.Contain("archive/data/0").And.Contain("no record can hold that"));
    }
}
