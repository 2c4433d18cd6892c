// The TAEHV decoder's streaming contract on the reference backend (and on ilgpu-cpu once conv3d
// runs there): any split of a clip's latent frames gives the frames of decoding it at once, the
// clip has 1 + 4(T - 1) frames of 8x the pixels, Reset starts a new clip, bad input is refused.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Quant.Conv;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class TaehvDecoderTests
{
    private const int ClipFrames = 6;

    /// <summary>Seeded latents [C, frames, H, W], scaled so some pass through Clamp's tanh nonlinearly.</summary>
    internal static float[] Latents(DiTConfig dit, int frames, ulong seed)
    {
        var rng = new GaussianNoise(seed);
        var values = new float[(long)dit.LatentChannels * frames * dit.LatentHeight * dit.LatentWidth];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(1.5 * rng.Next());
        }
        return values;
    }

    /// <summary>Frames [from, from + count) of [C, F, H, W] latents.</summary>
    internal static float[] FramesOf(float[] latents, DiTConfig dit, int frames, int from, int count)
    {
        int plane = dit.LatentHeight * dit.LatentWidth;
        var r = new float[(long)dit.LatentChannels * count * plane];
        for (int c = 0; c < dit.LatentChannels; c++)
        {
            Array.Copy(latents, (((long)c * frames) + from) * plane, r, (long)c * count * plane, (long)count * plane);
        }
        return r;
    }

    /// <summary>Decodes <paramref name="latents"/> fed in the given split; the frames concatenated.</summary>
    internal static VideoFrames DecodeInSplit(IVideoDecoder decoder, DiTConfig dit, float[] latents, int frames, IReadOnlyList<int> split)
    {
        var parts = new List<VideoFrames>();
        int at = 0;
        foreach (int n in split)
        {
            parts.Add(decoder.Decode(FramesOf(latents, dit, frames, at, n), n));
            at += n;
        }
        Assert.That(at, Is.EqualTo(frames), "the split covers the clip");
        return new VideoFrames(parts.Sum(p => p.Count), parts[0].Height, parts[0].Width, parts.SelectMany(p => p.Rgb).ToArray());
    }

    private static Backend Backend(string name)
    {
        var kind = name == "reference" ? BackendKind.Reference : BackendKind.IlgpuCpu;
        if (!Conv3d.Info.Supports(kind))
        {
            Assert.Ignore($"conv3d has no {name} implementation yet");
        }
        return BackendsOrIgnore.Get(kind);
    }

    [TestCase("reference", new[] { 1, 1, 1, 1, 1, 1 })]
    [TestCase("reference", new[] { 3, 3 })]
    [TestCase("reference", new[] { 2, 1, 3 })]
    [TestCase("ilgpu-cpu", new[] { 2, 1, 3 })]
    public void StreamingEqualsOneShot(string backend, int[] split)
    {
        var dit = DiTConfig.Micro;
        var latents = Latents(dit, ClipFrames, 11);
        using var decoder = TaehvDecoder.Open(Backend(backend), dit, DType.F32, null, seed: 3);
        var whole = decoder.Decode(latents, ClipFrames);
        decoder.Reset();
        var streamed = DecodeInSplit(decoder, dit, latents, ClipFrames, split);
        Assert.That(streamed.Count, Is.EqualTo(whole.Count));
        double rel = EngineTestKit.RelL2(whole.Rgb, streamed.Rgb);
        TestContext.Out.WriteLine($"{backend} split [{string.Join(", ", split)}]: relL2 {rel:E2}");
        Assert.That(rel, Is.LessThan(1e-5));
        // The comparison means something only if the pixels are not all clamped to 0 or 1.
        Assert.That(whole.Rgb.Count(v => v > 0 && v < 1), Is.GreaterThan(whole.Rgb.Length / 2));
    }

    [Test]
    public void AClipOfTLatentFramesIs4TMinus3FramesOf8xThePixels()
    {
        var dit = DiTConfig.Tiny;
        using var decoder = TaehvDecoder.Open(Backends.Get(BackendKind.Reference), dit, DType.F32, null, seed: 1);
        Assert.That((decoder.Name, decoder.LatentChannels, decoder.SpatialScale, decoder.TemporalScale), Is.EqualTo(("tiny", 16, 8, 4)));
        var first = decoder.Decode(Latents(dit, 1, 2), 1);
        Assert.That((first.Count, first.Height, first.Width, first.Rgb.Length), Is.EqualTo((1, 64, 64, 64 * 64 * 3)));
        var next = decoder.Decode(Latents(dit, 2, 3), 2);
        Assert.That((next.Count, decoder.FramesSeen), Is.EqualTo((8, 3L)), "4 frames per later latent frame: 1 + 4(3 - 1) = 9 in all");
        Assert.That(next.Rgb.All(v => v >= 0 && v <= 1), "RGB in [0, 1]");
        decoder.Reset();
        Assert.That(decoder.Decode(Latents(dit, 3, 4), 3).Count, Is.EqualTo(9), "after Reset a clip starts again: 4 * 3 - 3");
    }

    [Test]
    public void ThePublishedWidthsBuildAndDecode()
    {
        // taew2_1's shapes end to end (random weights, a 2x2 latent so the reference backend is quick).
        using var weights = TaehvWeights.Random(TaehvConfig.Published, 2);
        using var decoder = TaehvDecoder.Create(Backends.Get(BackendKind.Reference), weights, DType.BF16, 2, 2);
        var dit = DiTConfig.Micro with { LatentHeight = 2, LatentWidth = 2 };
        var video = decoder.Decode(Latents(dit, 2, 3), 2);
        Assert.That((video.Count, video.Height, video.Width), Is.EqualTo((5, 16, 16)));
        Assert.That(video.Rgb.All(v => v >= 0 && v <= 1));
    }

    [Test]
    public void ResetForgetsThePreviousClip()
    {
        var dit = DiTConfig.Micro;
        var backend = Backends.Get(BackendKind.Reference);
        var clip = Latents(dit, 2, 21);
        using var used = TaehvDecoder.Open(backend, dit, DType.F32, null, seed: 4);
        used.Decode(Latents(dit, 3, 20), 3);
        used.Reset();
        using var fresh = TaehvDecoder.Open(backend, dit, DType.F32, null, seed: 4);
        Assert.That(used.Decode(clip, 2).Rgb, Is.EqualTo(fresh.Decode(clip, 2).Rgb));
    }

    [Test]
    public void BadLatentsAreRefusedByNameBeforeAnyWork()
    {
        var dit = DiTConfig.Micro;
        using var decoder = TaehvDecoder.Open(Backends.Get(BackendKind.Reference), dit, DType.F32, null, seed: 1);
        var e = Assert.Throws<ArgumentException>(() => decoder.Decode(new float[100], 1))!;
        Assert.That(e.Message, Does.Contain("1 x 16 x 4 x 4 = 256").And.Contain("100"));
        Assert.Throws<ArgumentOutOfRangeException>(() => decoder.Decode([], 0));
        var nan = Latents(dit, 1, 5);
        nan[17] = float.NaN;
        Assert.That(Assert.Throws<ArgumentException>(() => decoder.Decode(nan, 1))!.Message, Does.Contain("latents[17]"));
        Assert.That(decoder.FramesSeen, Is.Zero, "nothing was decoded");
        Assert.Throws<ArgumentException>(() => TaehvDecoder.Open(Backends.Get(BackendKind.Reference), dit, DType.F8E4M3, null, 1));
    }

    [Test]
    public void Bf16StreamingMatchesOneShotAndF32()
    {
        var dit = DiTConfig.Micro;
        var backend = Backends.Get(BackendKind.Reference);
        var latents = Latents(dit, 3, 31);
        using var f32 = TaehvDecoder.Open(backend, dit, DType.F32, null, seed: 6);
        using var bf16 = TaehvDecoder.Open(backend, dit, DType.BF16, null, seed: 6);
        var exact = f32.Decode(latents, 3);
        var whole = bf16.Decode(latents, 3);
        bf16.Reset();
        var streamed = DecodeInSplit(bf16, dit, latents, 3, [1, 2]);
        Assert.That(EngineTestKit.RelL2(whole.Rgb, streamed.Rgb), Is.LessThan(1e-5), "each output rounds once whatever the split");
        double rel = EngineTestKit.RelL2(exact.Rgb, whole.Rgb);
        TestContext.Out.WriteLine($"bf16 vs f32: relL2 {rel:E2}");
        Assert.That(rel, Is.LessThan(3e-2));
    }
}
