using System.Buffers.Binary;
using System.Diagnostics;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

/// <summary>
/// 1,000 seeded corruptions of a PyTorch checkpoint's pickle (re-packed in a valid zip, so the
/// unpickler itself meets them) and 1,000 of the whole archive: each must load or end in a
/// ZoetropeFormatException, never another exception type, never a hang, and never a large
/// allocation (every length read is capped by what remains). Most pickle corruptions must be
/// caught, so the test cannot pass by accepting everything.
/// </summary>
public class PyTorchFuzzTests
{
    private const int Attempts = 1000;

    /// <summary>No attempt may allocate more than this (the good file is a few kilobytes).</summary>
    private const long MaxAllocation = 64L << 20;

    private enum Kind { Flip, RandomBytes, Truncate, Insert, HugeLength, Delete }

    private static byte[] Corrupt(byte[] good, Random rng, bool pickle, out Kind kind)
    {
        kind = (Kind)rng.Next(6);
        var b = (byte[])good.Clone();
        switch (kind)
        {
            case Kind.Flip:
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                break;
            case Kind.RandomBytes:
                for (int i = 0, n = 1 + rng.Next(8); i < n; i++)
                {
                    b[rng.Next(b.Length)] = (byte)rng.Next(256);
                }
                break;
            case Kind.Truncate:
                return b[..rng.Next(b.Length)];
            case Kind.Insert:
            {
                int at = rng.Next(b.Length);
                var extra = new byte[1 + rng.Next(16)];
                rng.NextBytes(extra);
                return [.. b[..at], .. extra, .. b[at..]];
            }
            case Kind.Delete:
            {
                int at = rng.Next(b.Length);
                return [.. b[..at], .. b[Math.Min(b.Length, at + 1 + rng.Next(8))..]];
            }
            default:
            {
                // A length field made huge: after a BINUNICODE 'X' in the pickle; in the archive,
                // a size field of the zip's local or central headers (4 bytes at 18/22 or 20/24).
                int at;
                if (pickle)
                {
                    var xs = Enumerable.Range(0, b.Length - 5).Where(i => b[i] == (byte)'X').ToArray();
                    at = xs[rng.Next(xs.Length)] + 1;
                }
                else
                {
                    var headers = Enumerable.Range(0, b.Length - 30).Where(i => b[i] == 'P' && b[i + 1] == 'K' && b[i + 2] is 1 or 3).ToArray();
                    int h = headers[rng.Next(headers.Length)];
                    at = h + (b[h + 2] == 3 ? 18 : 20) + (4 * rng.Next(2));
                }
                BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), rng.Next(2) == 0 ? 0xFFFFFFFFu : 0x7FFFFFF0u);
                break;
            }
        }
        return b;
    }

    private static (int Ok, int Detected) Fuzz(byte[] good, bool pickle, Action<byte[]> load)
    {
        var rng = new Random(4242);
        int ok = 0, detected = 0;
        long worst = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Attempts; i++)
        {
            var bad = Corrupt(good, rng, pickle, out var kind);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                load(bad);
                ok++;
            }
            catch (ZoetropeFormatException)
            {
                detected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"corruption {i} ({kind}) raised {e.GetType().Name}: {e.Message}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            worst = Math.Max(worst, allocated);
            Assert.That(allocated, Is.LessThan(MaxAllocation), $"corruption {i} ({kind}) allocated {allocated} bytes");
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), "the reader must not hang");
        }
        TestContext.Out.WriteLine($"{Attempts} corruptions: {ok} loaded, {detected} rejected in {sw.ElapsedMilliseconds} ms; largest allocation {worst} bytes");
        return (ok, detected);
    }

    private static (TorchCheckpointWriter Writer, byte[] Pickle) Good()
    {
        var w = new TorchCheckpointWriter();
        using var a = Tensor.FromDoubles(Enumerable.Range(0, 12).Select(i => i * 0.25).ToArray(), DType.BF16, new Shape(3, 4), "a");
        using var b = Tensor.FromDoubles([1, -2, 3, 0.5, 7], DType.F32, new Shape(5), "b");
        using var c = Tensor.FromDoubles([0.5, -1, 2, 448], DType.F8E4M3, new Shape(2, 2), "c");
        var ta = w.Add(a);
        var root = new PtDict(
            ("generator", new PtDict(("model.a", ta), ("model.b", w.Add(b)), ("model.a_tail", ta with { Offset = 4, Size = [8], Stride = [1] }))),
            ("generator_ema", new PtDict(("model.c", w.Add(c)))),
            ("step", 7L),
            ("names", new PtList("x", 2L)))
        { Plain = true };
        return (w, w.Pickle(root));
    }

    private static void LoadAll(string path)
    {
        using var f = PyTorchFile.Open(path);
        foreach (var name in f.Names)
        {
            f.Load(name).Dispose();
        }
    }

    [Test]
    public void CorruptPicklesEndInTheTypedException()
    {
        using var dir = new TempDirectory("zt-ptfuzz");
        var (w, good) = Good();
        string goodPath = dir.File("good.pt");
        w.WriteZip(goodPath, good);
        Assert.DoesNotThrow(() => LoadAll(goodPath));
        string path = dir.File("bad.pt");
        var (_, detected) = Fuzz(good, pickle: true, bad =>
        {
            w.WriteZip(path, bad);
            LoadAll(path);
        });
        Assert.That(detected, Is.GreaterThan(Attempts / 2), "most pickle corruptions must be caught");
    }

    [Test]
    public void CorruptArchivesEndInTheTypedException()
    {
        using var dir = new TempDirectory("zt-ptfuzz");
        var (w, pickle) = Good();
        string goodPath = dir.File("good.pt");
        w.WriteZip(goodPath, pickle);
        var good = File.ReadAllBytes(goodPath);
        string path = dir.File("bad.pt");
        var (_, detected) = Fuzz(good, pickle: false, bad =>
        {
            File.WriteAllBytes(path, bad);
            LoadAll(path);
        });
        Assert.That(detected, Is.GreaterThan(Attempts / 3));
    }
}
