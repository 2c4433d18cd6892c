using System.Diagnostics;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.IO;

namespace Zoetrope.Tests.IO;

/// <summary>
/// 1,000 seeded corruptions of a valid .npy and of a valid safetensors file: each must load or
/// end in a ZoetropeFormatException, never another exception type and never a hang. Most
/// corruptions of the header must be detected, so the test cannot pass by accepting everything.
/// </summary>
public class FormatFuzzTests
{
    private const int Attempts = 1000;

    private enum Kind { FlipInHeader, RandomHeaderBytes, Truncate, Insert, HugeLength, FlipAnywhere }

    private static byte[] Corrupt(byte[] good, int headerEnd, Random rng, out Kind kind, out bool headerTouched)
    {
        kind = (Kind)rng.Next(6);
        var b = (byte[])good.Clone();
        headerTouched = true;
        switch (kind)
        {
            case Kind.FlipInHeader:
                b[rng.Next(headerEnd)] ^= (byte)(1 << rng.Next(8));
                break;
            case Kind.RandomHeaderBytes:
                for (int i = 0, n = 1 + rng.Next(8); i < n; i++)
                {
                    b[rng.Next(headerEnd)] = (byte)rng.Next(256);
                }
                break;
            case Kind.Truncate:
                return b[..rng.Next(b.Length)];
            case Kind.Insert:
            {
                int at = rng.Next(headerEnd);
                var extra = new byte[1 + rng.Next(16)];
                rng.NextBytes(extra);
                return [.. b[..at], .. extra, .. b[at..]];
            }
            case Kind.HugeLength:
                // The length field: bytes 8-9 of an .npy v1 header, bytes 0-7 of safetensors.
                b[headerEnd == good.Length ? 0 : rng.Next(2) + (good[0] == 0x93 ? 8 : 0)] = 0xFF;
                break;
            default:
                b[rng.Next(b.Length)] ^= (byte)(1 << rng.Next(8));
                headerTouched = false;
                break;
        }
        return b;
    }

    private static (int Ok, int Detected, int HeaderDetected, int HeaderTotal) Fuzz(byte[] good, int headerEnd, Action<byte[]> load)
    {
        var rng = new Random(12345);
        int ok = 0, detected = 0, headerDetected = 0, headerTotal = 0;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Attempts; i++)
        {
            var bad = Corrupt(good, headerEnd, rng, out var kind, out bool header);
            try
            {
                load(bad);
                ok++;
            }
            catch (ZoetropeFormatException)
            {
                detected++;
                if (header)
                {
                    headerDetected++;
                }
            }
            catch (Exception e)
            {
                Assert.Fail($"corruption {i} ({kind}) raised {e.GetType().Name}: {e.Message}");
            }
            if (header)
            {
                headerTotal++;
            }
            Assert.That(sw.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)), "the readers must not hang");
        }
        TestContext.Out.WriteLine($"{Attempts} corruptions: {ok} loaded, {detected} rejected ({headerDetected}/{headerTotal} of the header ones) in {sw.ElapsedMilliseconds} ms");
        return (ok, detected, headerDetected, headerTotal);
    }

    [Test]
    public void CorruptNpyEndsInTheTypedException()
    {
        using var t = Tensor.FromDoubles(Enumerable.Range(0, 60).Select(i => i * 0.5).ToArray(), DType.F32, new Shape(3, 4, 5), "t");
        using var ms = new MemoryStream();
        Npy.Write(ms, t);
        var good = ms.ToArray();
        var (_, detected, headerDetected, headerTotal) = Fuzz(good, 128, bad => Npy.Read(new MemoryStream(bad), "fuzz.npy").Dispose());
        Assert.That(detected, Is.GreaterThan(Attempts / 3));
        Assert.That(headerDetected, Is.GreaterThan(headerTotal / 2), "most header corruptions must be caught");
    }

    [Test]
    public void CorruptSafeTensorsEndsInTheTypedException()
    {
        using var dir = new TempDirectory("zt-fuzz");
        {
            string goodPath = dir.File("good.safetensors");
            using (var a = Tensor.FromDoubles(Enumerable.Range(0, 12).Select(i => (double)i).ToArray(), DType.BF16, new Shape(3, 4), "a"))
            using (var b = Tensor.FromDoubles([1, 2, 3], DType.I32, new Shape(3), "b"))
            {
                SafeTensorsWriter.Write(goodPath, [new("blocks.0.a", a), new("blocks.0.b", b)], new Dictionary<string, string> { ["k"] = "v" });
            }
            var good = File.ReadAllBytes(goodPath);
            int headerEnd = 8 + (int)BitConverter.ToUInt64(good, 0);
            string path = dir.File("bad.safetensors");
            var (_, detected, headerDetected, headerTotal) = Fuzz(good, headerEnd, bad =>
            {
                File.WriteAllBytes(path, bad);
                using var f = SafeTensorsFile.Open(path);
                foreach (var name in f.Names)
                {
                    f.Load(name).Dispose();
                }
            });
            Assert.That(detected, Is.GreaterThan(Attempts / 3));
            Assert.That(headerDetected, Is.GreaterThan(headerTotal / 2), "most header corruptions must be caught");
        }
    }
}
