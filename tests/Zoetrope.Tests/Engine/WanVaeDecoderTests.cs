// WanVaeDecoder's streaming contract on the reference backend, in f32: a clip fed frame by frame
// or in uneven blocks decodes to the same video as the whole clip in one call (every layer then
// sees all frames at once), on the tiny config and on a smaller Wan-shaped stack (one residual
// block fewer per stage, non-square latents); 1 + 4(T - 1) frames of 8x the latent size; the
// clip's first frame never goes through time_conv; Reset starts a new clip; bad input is refused.
using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Runtime;

namespace Zoetrope.Tests.Engine;

[TestFixture]
public sealed class WanVaeDecoderTests
{
    // The same structure as the published stack with 4-wide base channels and 1 + 1 residual blocks per stage.
    private static readonly WanVaeConfig Small = WanVaeConfig.Tiny with { Name = "wan-shaped-small", BaseDim = 4, NumResBlocks = 1 };

    private static IEnumerable<TestCaseData> Splits()
    {
        yield return new TestCaseData("tiny", 4, 4, new[] { 1, 1, 1, 1 }).SetName("tiny 4x4, frame by frame");
        yield return new TestCaseData("tiny", 4, 4, new[] { 3, 1 }).SetName("tiny 4x4, 3 then 1");
        yield return new TestCaseData("small", 3, 5, new[] { 1, 2, 1 }).SetName("small 3x5, 1 then 2 then 1");
        yield return new TestCaseData("small", 3, 5, new[] { 2, 1, 1 }).SetName("small 3x5, 2 then 1 then 1");
    }

    [TestCaseSource(nameof(Splits))]
    public void AnySplitDecodesLikeTheWholeClip(string which, int h, int w, int[] split)
    {
        var config = which == "tiny" ? WanVaeConfig.Tiny : Small;
        using var weights = WanVaeWeights.Random(config, seed: 4);
        int frames = split.Sum();
        var latents = WanVaeOracleTests.Latents(frames, h, w, seed: 8);
        using var decoder = new WanVaeDecoder(Backends.Host, weights, h, w, DType.F32);
        var whole = decoder.Decode(latents, frames);
        Assert.That(whole.Count, Is.EqualTo(1 + (4 * (frames - 1))));
        decoder.Reset();
        var pieces = new List<float>();
        int start = 0, count = 0;
        foreach (int n in split)
        {
            var got = decoder.Decode(Chunk(latents, frames, h, w, start, n), n);
            Assert.That(got.Count, Is.EqualTo(start == 0 ? 1 + (4 * (n - 1)) : 4 * n), $"chunk at {start}");
            pieces.AddRange(got.Rgb);
            start += n;
            count += got.Count;
        }
        Assert.That(count, Is.EqualTo(whole.Count));
        Assert.That(decoder.FramesSeen, Is.EqualTo(frames));
        double rel = EngineTestKit.RelL2(whole.Rgb, [.. pieces]);
        TestContext.Out.WriteLine($"{config.Name} {h}x{w}, split [{string.Join(", ", split)}]: relL2 {rel:E2}");
        Assert.That(rel, Is.LessThan(1e-5));
    }

    [Test]
    public void FramesAreOnePlusFourPerLaterLatentFrameAtEightTimesTheSize()
    {
        using var weights = WanVaeWeights.Random(Small, seed: 1);
        using var decoder = new WanVaeDecoder(Backends.Host, weights, 2, 3, DType.F32);
        Assert.That((decoder.SpatialScale, decoder.TemporalScale, decoder.LatentChannels, decoder.Name), Is.EqualTo((8, 4, 16, "wan")));
        var first = decoder.Decode(WanVaeOracleTests.Latents(1, 2, 3, seed: 1), 1);
        Assert.That((first.Count, first.Height, first.Width), Is.EqualTo((1, 16, 24)));
        Assert.That(first.Rgb, Has.Length.EqualTo(16 * 24 * 3));
        Assert.That(first.Rgb.All(v => v is >= 0 and <= 1), "RGB in [0, 1]");
        var next = decoder.Decode(WanVaeOracleTests.Latents(2, 2, 3, seed: 2), 2);
        Assert.That(next.Count, Is.EqualTo(8));
        Assert.That(decoder.Decode([], 0).Count, Is.EqualTo(0));
        // Reset: the same first frame again, bit for bit.
        decoder.Reset();
        Assert.That(decoder.FramesSeen, Is.EqualTo(0));
        Assert.That(decoder.Decode(WanVaeOracleTests.Latents(1, 2, 3, seed: 1), 1).Rgb, Is.EqualTo(first.Rgb));
    }

    [Test]
    public void TheFirstFrameNeverGoesThroughTimeConv()
    {
        using var weights = WanVaeWeights.Random(Small, seed: 6);
        var latents = WanVaeOracleTests.Latents(2, 2, 2, seed: 3);
        VideoFrames Run()
        {
            using var decoder = new WanVaeDecoder(Backends.Host, weights, 2, 2, DType.F32);
            return decoder.Decode(latents, 2);
        }
        var before = Run();
        foreach (var key in weights.Names.Where(n => n.Contains(".time_conv.", StringComparison.Ordinal)))
        {
            var t = weights[key];
            t.WriteDoubles(t.ToDoubles().Select(v => (v * -3) + 0.5).ToArray());
        }
        var after = Run();
        int frame = before.FrameFloats;
        Assert.That(after.Rgb.Take(frame), Is.EqualTo(before.Rgb.Take(frame)), "frame 0 does not depend on time_conv");
        Assert.That(EngineTestKit.RelL2(before.Rgb[frame..], after.Rgb[frame..]), Is.GreaterThan(1e-3), "the later frames do");
    }

    [TestCase(DType.BF16)]
    [TestCase(DType.F16)]
    public void HalfPrecisionStaysNearF32(DType dtype)
    {
        using var weights = WanVaeWeights.Random(WanVaeConfig.Tiny, seed: 13);
        var latents = WanVaeOracleTests.Latents(2, 4, 4, seed: 6);
        using var f32 = new WanVaeDecoder(Backends.Host, weights, 4, 4, DType.F32);
        using var half = new WanVaeDecoder(Backends.Host, weights, 4, 4, dtype);
        double rel = EngineTestKit.RelL2(f32.Decode(latents, 2).Rgb, half.Decode(latents, 2).Rgb);
        TestContext.Out.WriteLine($"{dtype.Name()} vs f32: relL2 {rel:E2}");
        Assert.That(rel, Is.LessThan(dtype == DType.BF16 ? 3e-2 : 5e-3));
    }

    [Test]
    public void BadInputIsRefusedWithBothLengths()
    {
        using var decoder = WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro, DType.F32, null, seed: 1);
        Assert.That(((WanVaeDecoder)decoder).Config, Is.EqualTo(WanVaeConfig.Tiny));
        var e = Assert.Throws<ArgumentException>(() => decoder.Decode(new float[10], 1))!;
        Assert.That(e.Message, Does.Contain("10").And.Contain("256"));
        Assert.Throws<ArgumentException>(() => decoder.Decode([], -1));
        Assert.That(decoder.FramesSeen, Is.EqualTo(0));
        Assert.Throws<ArgumentException>(() => WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro, DType.I8, null, seed: 1));
        Assert.Throws<ArgumentException>(() => WanVaeDecoder.Open(Backends.Host, DiTConfig.Micro with { LatentChannels = 4 }, DType.F32, null, seed: 1));
    }

    private static float[] Chunk(float[] latents, int frames, int h, int w, int start, int n)
    {
        // [C, F, H, W]: frames start..start+n of every channel.
        int plane = h * w;
        var chunk = new float[16 * n * plane];
        for (int c = 0; c < 16; c++)
        {
            Array.Copy(latents, ((c * frames) + start) * plane, chunk, c * n * plane, n * plane);
        }
        return chunk;
    }
}
