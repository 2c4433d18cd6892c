using NUnit.Framework;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;

namespace Zoetrope.Tests.Engine;

/// <summary>
/// The engine's own PNG encoder and Y4M writer, read back by SkiaSharp, ffprobe/ffmpeg and a test
/// parser; the contact sheet's grid, labels and bounded tiles.
/// </summary>
public class VideoWriterTests
{
    private static byte[] RandomRgb(int width, int height, int seed)
    {
        var rgb = new byte[width * height * 3];
        new Random(seed).NextBytes(rgb);
        return rgb;
    }

    [TestCase(1, 1)]
    [TestCase(7, 5)]
    [TestCase(64, 48)]
    [TestCase(333, 2)]
    public void PngDecodesBackExactlyWithSkia(int width, int height)
    {
        var rgb = RandomRgb(width, height, width * 31 + height);
        var (decoded, w, h) = VideoProbe.Png(PngEncoder.Encode(rgb, width, height));
        Assert.That((w, h), Is.EqualTo((width, height)));
        Assert.That(decoded, Is.EqualTo(rgb));
    }

    [Test]
    public void PngRefusesAWrongBufferNamingBothSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => PngEncoder.Encode(new byte[10], 2, 2));
        Assert.That(e!.Message, Does.Contain("expected 12 bytes, got 10"));
    }

    [Test]
    public void PixelsClampAndRound()
    {
        Assert.That(new[] { -0.5f, 0f, 0.5f / 255, 1.49f / 255, 0.5f, 1f, 7f, float.NaN }.Select(VideoPixels.ToByte),
            Is.EqualTo(new byte[] { 0, 0, 1, 1, 128, 255, 255, 0 }));
    }

    // BT.601 limited range: the textbook values of the primaries (Rec. 601 tables), not this code's formula.
    [TestCase(0, 0, 0, 16, 128, 128)]
    [TestCase(255, 255, 255, 235, 128, 128)]
    [TestCase(255, 0, 0, 81, 90, 240)]
    [TestCase(0, 255, 0, 145, 54, 34)]
    [TestCase(0, 0, 255, 41, 240, 110)]
    public void Y4mIsBt601LimitedRange(int r, int g, int b, int y, int cb, int cr)
    {
        var rgb = new byte[4 * 2 * 3];
        for (int i = 0; i < rgb.Length; i += 3)
        {
            (rgb[i], rgb[i + 1], rgb[i + 2]) = ((byte)r, (byte)g, (byte)b);
        }
        using var file = new MemoryStream();
        using (var w = new Y4mWriter(file, 4, 2, 16, leaveOpen: true))
        {
            w.WriteFrame(rgb);
        }
        var (header, extras, frames) = VideoProbe.Y4m(file.ToArray());
        Assert.That(header['W'], Is.EqualTo("4"));
        Assert.That(header['H'], Is.EqualTo("2"));
        Assert.That(header['F'], Is.EqualTo("16:1"));
        Assert.That(header['C'], Is.EqualTo("420jpeg"));
        Assert.That(extras, Does.Contain("COLORRANGE=LIMITED"));
        Assert.That(frames, Has.Count.EqualTo(1));
        Assert.That(frames[0].Y, Is.All.EqualTo((byte)y));
        Assert.That(frames[0].Cb, Is.All.EqualTo((byte)cb));
        Assert.That(frames[0].Cr, Is.All.EqualTo((byte)cr));
    }

    [Test]
    public void Y4mPadsOddSizesByRepeatingTheLastColumnAndRow()
    {
        var rgb = RandomRgb(5, 3, 1);
        using var file = new MemoryStream();
        using (var w = new Y4mWriter(file, 5, 3, 16, leaveOpen: true))
        {
            Assert.That((w.EncodedWidth, w.EncodedHeight), Is.EqualTo((6, 4)));
            w.WriteFrame(rgb);
        }
        var (header, _, frames) = VideoProbe.Y4m(file.ToArray());
        Assert.That((header['W'], header['H']), Is.EqualTo(("6", "4")));
        var luma = frames[0].Y;
        for (int row = 0; row < 4; row++)
        {
            Assert.That(luma[(row * 6) + 5], Is.EqualTo(luma[(row * 6) + 4]), $"row {row}: the padding column repeats column 4");
        }
        Assert.That(luma[18..24], Is.EqualTo(luma[12..18]), "the padding row repeats row 2");
    }

    [Test]
    public void Y4mReadsBackThroughFfprobeAndFfmpeg()
    {
        using var tmp = new TempDirectory("zt-y4m");
        string path = tmp.File("clip.y4m");
        // Flat 2x2-aligned patches of colour, so 4:2:0 loses nothing and ffmpeg's BT.601 limited-range
        // conversion back to RGB must land within rounding of the source.
        const int w = 8, h = 4, count = 3;
        var colours = new (byte R, byte G, byte B)[] { (200, 30, 60), (10, 220, 90), (90, 90, 250), (128, 128, 128) };
        var frames = new List<byte[]>();
        using (var y4m = new Y4mWriter(File.Create(path), w, h, 24))
        {
            for (int f = 0; f < count; f++)
            {
                var rgb = new byte[w * h * 3];
                for (int y = 0; y < h; y++)
                {
                    for (int x = 0; x < w; x++)
                    {
                        var c = colours[((x / 2) + (y / 2) + f) % colours.Length];
                        int o = ((y * w) + x) * 3;
                        (rgb[o], rgb[o + 1], rgb[o + 2]) = (c.R, c.G, c.B);
                    }
                }
                frames.Add(rgb);
                y4m.WriteFrame(rgb);
            }
        }
        var probe = VideoProbe.Stream(path);
        Assert.That(probe["codec_name"], Is.EqualTo("rawvideo"));
        Assert.That(probe["width"], Is.EqualTo("8"));
        Assert.That(probe["height"], Is.EqualTo("4"));
        Assert.That(probe["nb_read_frames"], Is.EqualTo("3"));
        Assert.That(probe["pix_fmt"], Is.EqualTo("yuv420p"));
        Assert.That(probe["r_frame_rate"], Is.EqualTo("24/1"));
        Assert.That(probe["color_range"], Is.EqualTo("tv"), "XCOLORRANGE=LIMITED is read as limited range");
        byte[] back = VideoProbe.RunBytes("ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
        Assert.That(back, Has.Length.EqualTo(count * w * h * 3));
        for (int i = 0; i < back.Length; i++)
        {
            Assert.That(Math.Abs(back[i] - frames[i / (w * h * 3)][i % (w * h * 3)]), Is.LessThanOrEqualTo(3), $"byte {i}");
        }
    }

    [Test]
    public void ContactSheetTilesTheFirstFrameOfEachBlockWithItsNumber()
    {
        var decoder = new VideoPatternDecoder(2, 3, scale: 16);
        var sheet = new ContactSheet();
        var firsts = new List<byte[]>();
        foreach (var block in decoder.Stream(5))
        {
            var frames = decoder.Decode(block.Latents, block.Frames);
            firsts.Add(VideoPixels.Frame(frames, 0));
            sheet.Add(block.Index, frames);
        }
        var (rgb, width, height) = sheet.Render()!.Value;
        // 5 tiles of 48x32: 3 columns, 2 rows, 2-pixel gaps.
        Assert.That((width, height), Is.EqualTo((3 * 48 + 4 * 2, 2 * 32 + 3 * 2)));
        Assert.That(sheet.Blocks, Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        for (int t = 0; t < 5; t++)
        {
            int x0 = 2 + ((t % 3) * 50), y0 = 2 + ((t / 3) * 34);
            // Below the label (7 rows of scale 1), the tile is the frame.
            for (int y = 8; y < 32; y++)
            {
                var row = rgb.AsSpan((((y0 + y) * width) + x0) * 3, 48 * 3).ToArray();
                Assert.That(row, Is.EqualTo(firsts[t].AsSpan(y * 48 * 3, 48 * 3).ToArray()), $"tile {t} row {y}");
            }
            // The label: the digit's 3x5 cells (scale 1) inside a black box from (1, 1); the top bar's
            // middle cell is lit in 0, 1, 2, 3 and dark in 4 (whose top row is two strokes).
            Assert.That(rgb[(((y0 + 0) * width) + x0) * 3], Is.EqualTo(0), "the label box is black");
            int top = (((y0 + 1) * width) + x0 + 2) * 3;
            Assert.That(rgb[top], Is.EqualTo(t == 4 ? 0 : 255), $"tile {t}: the top middle cell of digit {t}");
        }
        using var tmp = new TempDirectory("zt-sheet");
        Assert.That(sheet.Write(tmp.File("s.png")), Is.True);
        var (decoded, dw, dh) = VideoProbe.Png(File.ReadAllBytes(tmp.File("s.png")));
        Assert.That((dw, dh, decoded), Is.EqualTo((width, height, rgb)));
    }

    [Test]
    public void ContactSheetStaysBoundedAndSpansTheStreamEvenly()
    {
        var sheet = new ContactSheet();
        var frame = new VideoFrames(1, 2, 2, new float[12]);
        for (int b = 0; b < 200; b++)
        {
            sheet.Add(b, frame);
        }
        Assert.That(sheet.Blocks, Is.EqualTo(Enumerable.Range(0, 50).Select(i => i * 4).ToArray()));
        Assert.That(new ContactSheet().Render(), Is.Null);
    }
}
