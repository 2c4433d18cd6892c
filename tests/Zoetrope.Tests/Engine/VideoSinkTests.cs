using NUnit.Framework;
using Zoetrope.Engine;
using Zoetrope.Engine.Decode;
using Zoetrope.Engine.Video;

namespace Zoetrope.Tests.Engine;

/// <summary>
/// <see cref="VideoSink"/> and <see cref="BlockDecoder"/> fed by a pattern decoder keeping the
/// 1 + 4(T-1) frame contract: MP4 through ffmpeg (ftyp box, ffprobe's codec, frames and size),
/// Y4M, PNG frames, the contact sheet beside the video, the ffmpeg fallback and failure, metrics.
/// </summary>
public class VideoSinkTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-video");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static (BlockDecoder Decoder, List<DecodedBlock> Blocks) Run(VideoSink? sink, int blocks, int latentH = 4, int latentW = 6, int scale = 8)
    {
        var pattern = new VideoPatternDecoder(latentH, latentW, scale);
        var decoder = new BlockDecoder(pattern, sink);
        var done = pattern.Stream(blocks).Select(decoder.Decode).ToList();
        sink?.Complete();
        return (decoder, done);
    }

    [Test]
    public void Mp4IsH264WithEveryFrameAndItsIndexFirst()
    {
        VideoProbe.Tool("ffmpeg");
        string path = _tmp.File("sub/clip.mp4");
        using var sink = VideoSink.Open(path, new VideoSinkOptions { ContactSheet = VideoSink.ContactSheetBeside(path) });
        var (decoder, blocks) = Run(sink, 3);
        Assert.That(decoder.Metrics.VideoFrames, Is.EqualTo(9 + 12 + 12));
        Assert.That(sink.Format, Is.EqualTo(VideoFormat.Mp4));
        Assert.That(sink.Encoder, Is.EqualTo("libx264"), "this machine's ffmpeg has libx264");
        byte[] file = File.ReadAllBytes(path);
        Assert.That(System.Text.Encoding.ASCII.GetString(file, 4, 4), Is.EqualTo("ftyp"), "an MP4 starts with its ftyp box");
        var boxes = TopLevelBoxes(file);
        Assert.That(boxes.IndexOf("moov"), Is.LessThan(boxes.IndexOf("mdat")), $"+faststart puts moov before mdat: {string.Join(",", boxes)}");
        var probe = VideoProbe.Stream(path);
        Assert.That(probe["codec_name"], Is.EqualTo("h264"));
        Assert.That(probe["width"], Is.EqualTo("48"));
        Assert.That(probe["height"], Is.EqualTo("32"));
        Assert.That(probe["nb_read_frames"], Is.EqualTo("33"));
        Assert.That(probe["r_frame_rate"], Is.EqualTo("16/1"), "Wan's 16 fps by default");
        Assert.That(File.Exists(_tmp.File("sub/clip.contact.png")), Is.True);
        var (_, sw, sh) = VideoProbe.Png(File.ReadAllBytes(_tmp.File("sub/clip.contact.png")));
        Assert.That((sw, sh), Is.EqualTo((2 * 48 + 3 * 2, 2 * 32 + 3 * 2)), "3 tiles: 2 columns, 2 rows");
        Assert.That(blocks.Select(b => b.Frames.Count), Is.EqualTo(new[] { 9, 12, 12 }));
    }

    [Test]
    public void Mp4WithoutFfmpegSaysSoAndWritesY4mBesideIt()
    {
        var notices = new List<string>();
        string path = _tmp.File("clip.mp4");
        using var sink = VideoSink.Open(path, new VideoSinkOptions { Ffmpeg = null, Fps = 24, Notice = notices.Add });
        Run(sink, 2);
        Assert.That(sink.Format, Is.EqualTo(VideoFormat.Y4m));
        Assert.That(sink.Path, Is.EqualTo(_tmp.File("clip.y4m")));
        Assert.That(File.Exists(path), Is.False);
        Assert.That(notices, Has.Count.EqualTo(1));
        Assert.That(notices[0], Does.Contain("ffmpeg is not on PATH").And.Contain("clip.y4m"));
        var (header, _, frames) = VideoProbe.Y4m(File.ReadAllBytes(sink.Path));
        Assert.That(frames, Has.Count.EqualTo(9 + 12));
        Assert.That(header['F'], Is.EqualTo("24:1"));
    }

    [Test]
    public void Y4mStreamsBlocksAsTheyArriveAndFfprobeCountsThem()
    {
        string path = _tmp.File("clip.y4m");
        using var sink = VideoSink.Open(path, new VideoSinkOptions());
        var pattern = new VideoPatternDecoder(2, 2, 8);
        var decoder = new BlockDecoder(pattern, sink);
        long previous = 0;
        foreach (var block in pattern.Stream(3))
        {
            decoder.Decode(block);
            // Each block is in the file (header + FRAME + planes) before the next one is decoded.
            long size = new FileInfo(path).Length;
            Assert.That(size, Is.GreaterThan(previous));
            previous = size;
        }
        sink.Complete();
        var (_, _, frames) = VideoProbe.Y4m(File.ReadAllBytes(path));
        Assert.That(frames, Has.Count.EqualTo(33));
        var probe = VideoProbe.Stream(path);
        Assert.That((probe["width"], probe["height"], probe["nb_read_frames"]), Is.EqualTo(("16", "16", "33")));
    }

    [Test]
    public void PngFramesAreTheDecodedFramesExactly()
    {
        string folder = _tmp.File("frames") + "/";
        using var sink = VideoSink.Open(folder, new VideoSinkOptions { ContactSheet = VideoSink.ContactSheetBeside(folder) });
        var (_, blocks) = Run(sink, 2, 2, 3);
        Assert.That(sink.Format, Is.EqualTo(VideoFormat.PngFrames));
        var files = Directory.GetFiles(folder, "frame_*.png").Order(StringComparer.Ordinal).ToArray();
        Assert.That(files, Has.Length.EqualTo(21));
        Assert.That(Path.GetFileName(files[0]), Is.EqualTo("frame_000000.png"));
        Assert.That(Path.GetFileName(files[^1]), Is.EqualTo("frame_000020.png"));
        var all = blocks.SelectMany(b => Enumerable.Range(0, b.Frames.Count).Select(i => VideoPixels.Frame(b.Frames, i))).ToArray();
        for (int i = 0; i < files.Length; i++)
        {
            var (rgb, w, h) = VideoProbe.Png(File.ReadAllBytes(files[i]));
            Assert.That((w, h), Is.EqualTo((24, 16)));
            Assert.That(rgb, Is.EqualTo(all[i]), files[i]);
        }
        Assert.That(File.Exists(_tmp.File("frames.contact.png")), Is.True, "the sheet sits beside the folder, not among the frames");
        var again = Assert.Throws<ArgumentException>(() => VideoSink.Open(folder));
        Assert.That(again!.Message, Does.Contain("already holds 21 frame_*.png"));
    }

    [Test]
    public void Mp4OfOddSizeIsPaddedAndSaysSo()
    {
        VideoProbe.Tool("ffmpeg");
        var notices = new List<string>();
        string path = _tmp.File("odd.mp4");
        using var sink = VideoSink.Open(path, new VideoSinkOptions { Notice = notices.Add });
        Run(sink, 1, 1, 5, scale: 3);
        Assert.That(notices, Has.One.Contains("15x3 frames padded to 16x4"));
        var probe = VideoProbe.Stream(path);
        Assert.That((probe["width"], probe["height"], probe["nb_read_frames"]), Is.EqualTo(("16", "4", "9")));
    }

    [Test]
    public void FfmpegFailureIsTypedWithItsStderrTail()
    {
        string fake = _tmp.File("ffmpeg");
        File.WriteAllText(fake, "#!/bin/sh\ncat > /dev/null\necho 'Unknown encoder libx264: the fake one' >&2\nexit 1\n");
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("a shell-script ffmpeg needs a Unix host");
        }
        else
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        using var sink = VideoSink.Open(_tmp.File("x.mp4"), new VideoSinkOptions { Ffmpeg = fake });
        var e = Assert.Throws<ZoetropeVideoException>(() => Run(sink, 1));
        Assert.That(e!.Message, Does.Contain("ffmpeg exited 1").And.Contain("Unknown encoder libx264: the fake one"));
        Assert.That(sink.Encoder, Is.EqualTo("mpeg4"), "a ffmpeg that lists no libx264 gets mpeg4");
    }

    [Test]
    public void FormatFollowsThePath()
    {
        Assert.That(VideoSink.FormatOf("a/out.MP4"), Is.EqualTo(VideoFormat.Mp4));
        Assert.That(VideoSink.FormatOf("out.y4m"), Is.EqualTo(VideoFormat.Y4m));
        Assert.That(VideoSink.FormatOf("frames/"), Is.EqualTo(VideoFormat.PngFrames));
        Assert.That(VideoSink.FormatOf("frames"), Is.EqualTo(VideoFormat.PngFrames));
        Assert.That(VideoSink.FormatOf(_tmp.Path), Is.EqualTo(VideoFormat.PngFrames));
        var e = Assert.Throws<ArgumentException>(() => VideoSink.FormatOf("out.avi"));
        Assert.That(e!.Message, Does.Contain("'.avi'").And.Contain(".mp4").And.Contain(".y4m"));
        Assert.That(VideoSink.ContactSheetBeside("out/v.mp4"), Is.EqualTo("out/v.contact.png"));
        Assert.That(VideoSink.ContactSheetBeside("out/frames/"), Is.EqualTo("out/frames.contact.png"));
    }

    [Test]
    public void FfmpegIsFoundOnTheGivenPathOnly()
    {
        File.WriteAllText(_tmp.File("ffmpeg"), "");
        Assert.That(Ffmpeg.Find(_tmp.Path), Is.EqualTo(_tmp.File("ffmpeg")));
        Assert.That(Ffmpeg.Find(Path.Combine(_tmp.Path, "nothing-here")), Is.Null);
    }

    [Test]
    public void BlocksGoInOrderAndKeepTheFrameContract()
    {
        var pattern = new VideoPatternDecoder(2, 2);
        var decoder = new BlockDecoder(pattern);
        var blocks = pattern.Stream(3).ToArray();
        decoder.Decode(blocks[0]);
        var skipped = Assert.Throws<ArgumentException>(() => decoder.Decode(blocks[2]));
        Assert.That(skipped!.Message, Does.Contain("block 2 starts at latent frame 6, but the decoder has seen 3"));
        // A block that claims another frame count than its decoder gives (a broken contract).
        var wrong = blocks[1] with { VideoFrames = 11 };
        var e = Assert.Throws<ZoetropeVideoException>(() => decoder.Decode(wrong));
        Assert.That(e!.Message, Does.Contain("decoded to 12 video frames; the stream counts 11"));
    }

    [Test]
    public void MetricsGiveFpsWithAndWithoutDecoding()
    {
        var m = new DecodeMetrics();
        m.Add(100, 9, 5);
        m.Add(300, 12, 5);
        m.Add(200, 12, 5);
        Assert.That(m.Blocks, Is.EqualTo(3));
        Assert.That(m.VideoFrames, Is.EqualTo(33));
        Assert.That(m.DecodeMs, Is.EqualTo(600));
        Assert.That(m.WriteMs, Is.EqualTo(15));
        Assert.That(m.P50Ms, Is.EqualTo(200));
        Assert.That(m.DecodeFps, Is.EqualTo(55).Within(1e-9));
        // 33 frames over 1.5 s of generation and 0.6 s of decoding.
        Assert.That(m.FpsWithGeneration(1500), Is.EqualTo(33 / 2.1).Within(1e-9));
        Assert.That(new DecodeMetrics().FpsWithGeneration(0), Is.Zero);
    }

    [Test]
    public void DecoderKindsParseAndRefuseByName()
    {
        Assert.That(VideoDecoders.Parse("wan"), Is.EqualTo(DecoderKind.Wan));
        Assert.That(VideoDecoders.Parse("TINY"), Is.EqualTo(DecoderKind.Tiny));
        Assert.That(VideoDecoders.Name(DecoderKind.Tiny), Is.EqualTo("tiny"));
        var e = Assert.Throws<ArgumentException>(() => VideoDecoders.Parse("vae"));
        Assert.That(e!.Message, Does.Contain("decoder 'vae': unknown; expected wan|tiny"));
    }

    // The top-level boxes of an MP4 (ISO BMFF: 32-bit big-endian size, then the 4-letter type).
    private static List<string> TopLevelBoxes(byte[] file)
    {
        var types = new List<string>();
        for (long at = 0; at + 8 <= file.Length;)
        {
            long size = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)at));
            types.Add(System.Text.Encoding.ASCII.GetString(file, (int)at + 4, 4));
            if (size == 1)
            {
                size = (long)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)at + 8));
            }
            Assert.That(size, Is.GreaterThanOrEqualTo(8), $"box {types[^1]} at {at}");
            at += size;
        }
        return types;
    }
}
