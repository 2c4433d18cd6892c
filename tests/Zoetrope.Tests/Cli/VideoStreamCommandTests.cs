using NUnit.Framework;
using Zoetrope.Tests.Engine;

namespace Zoetrope.Tests.Cli;

/// <summary>
/// <c>zoe stream --decode/--video/--contact-sheet/--decoder-weights/--fps</c> and <c>zoe profile
/// --decode</c>: every refusal made before any work, in the CLI's words; and, with the decoders,
/// the whole path from latents to an MP4 (ffprobe), PNG frames and a contact sheet, the decode ms
/// per block and the FPS with decoding.
/// </summary>
[NonParallelizable]
public class VideoStreamCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-video-cli");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    // Exit 2, every fragment in the error, and nothing of the run on stdout (no header, no block).
    private static void RefusedUpFront(string[] args, params string[] expected)
    {
        var run = Zoe.Run(args);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        foreach (var e in expected)
        {
            Assert.That(run.Err, Does.Contain(e), run.ToString());
        }
        Assert.That(run.Out, Does.Not.Contain("model micro").And.Not.Contain("block ").And.Not.Contain("zoe profile:"), run.ToString());
    }

    [Test]
    public void AnUnknownDecoderIsRefusedWithTheChoices()
    {
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "vae"], "--decode vae: unknown; expected wan|tiny");
        RefusedUpFront(["profile", "--model", "micro", "--blocks", "1", "--decode", "vae"], "--decode vae: unknown; expected wan|tiny");
    }

    [Test]
    public void VideoPathsAreCheckedBeforeAnyWork()
    {
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--video", _tmp.File("v.avi")], "--video", "'.avi' is not a format", ".mp4", ".y4m");
        string frames = _tmp.File("frames");
        Directory.CreateDirectory(frames);
        File.WriteAllBytes(Path.Combine(frames, "frame_000000.png"), [1]);
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "tiny", "--video", frames + "/"], "--video", "already holds 1 frame_*.png");
        File.WriteAllText(_tmp.File("file"), "x");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--video", _tmp.File("file") + "/v.mp4"], "--video", "cannot write into");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "tiny", "--contact-sheet", _tmp.File("s.jpg")], "--contact-sheet", "give a .png path");
    }

    [Test]
    public void OptionsThatNeedAnotherAreRefusedNamingIt()
    {
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decoder-weights", _tmp.File("taehv.pt")], "--decoder-weights", "without --decode wan|tiny");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "wan", "--decoder-weights", _tmp.File("none.pt")], "--decoder-weights", "no such file");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "tiny", "--fps", "24"], "--fps 24: given without --video");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "tiny", "--video", _tmp.File("v.mp4"), "--fps", "0"], "--fps 0: must be 1 or more");
        RefusedUpFront(["stream", "--model", "micro", "--blocks", "1", "--decode", "tiny", "--video", _tmp.File("frames") + "/", "--fps", "24"], "--fps 24", "PNG frames, which have no frame rate");
    }

    // The tests below need the decoders (WanVaeDecoder, TaehvDecoder): they run after the merge.

    [Test]
    public void StreamWritesAnMp4TheContactSheetAndDecodeTimes()
    {
        VideoProbe.Tool("ffprobe");
        string video = _tmp.File("out/video.mp4");
        var run = Zoe.Run("stream", "--model", "micro", "--blocks", "2", "--decode", "tiny", "--video", video);
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("decoder tiny, seeded random weights (frames show noise)"));
        Assert.That(run.Out, Does.Match(@"block 1/2 .* decode +[0-9.]+ ms \(9 video frames\)"));
        Assert.That(run.Out, Does.Match(@"block 2/2 .* decode +[0-9.]+ ms \(12 video frames\)"));
        Assert.That(run.Out, Does.Contain("decode per block p50 / p99 (tiny)").And.Contain("FPS with decoding (generation + decode)").And.Contain("FPS (video frames, DiT only)"));
        Assert.That(run.Out, Does.Contain("wrote " + video + ": 21 frames of 32x32 at 16 fps (libx264)"));
        var probe = VideoProbe.Stream(video);
        Assert.That((probe["codec_name"], probe["width"], probe["height"], probe["nb_read_frames"]), Is.EqualTo(("h264", "32", "32", "21")));
        Assert.That(File.Exists(_tmp.File("out/video.contact.png")), Is.True);
    }

    [Test]
    public void StreamWritesPngFramesWithTheWanVae()
    {
        string frames = _tmp.File("frames") + "/";
        var run = Zoe.Run("stream", "--model", "micro", "--blocks", "2", "--decode", "wan", "--video", frames, "--contact-sheet", _tmp.File("sheet.png"));
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(Directory.GetFiles(frames, "frame_*.png"), Has.Length.EqualTo(21));
        var (_, w, h) = VideoProbe.Png(File.ReadAllBytes(Path.Combine(frames, "frame_000020.png")));
        Assert.That((w, h), Is.EqualTo((32, 32)));
        Assert.That(File.Exists(_tmp.File("sheet.png")), Is.True);
    }

    [Test]
    public void VideoWithoutDecodeUsesTinyAndSaysSo()
    {
        string video = _tmp.File("v.y4m");
        var run = Zoe.Run("stream", "--model", "micro", "--blocks", "1", "--video", video, "--fps", "8");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("decoder tiny (--video without --decode"));
        var (header, _, frames) = VideoProbe.Y4m(File.ReadAllBytes(video));
        Assert.That((header['F'], frames.Count), Is.EqualTo(("8:1", 9)));
    }

    [Test]
    public void DecodeWithoutVideoDecodesAndTimesOnly()
    {
        var run = Zoe.Run("stream", "--model", "micro", "--blocks", "2", "--decode", "tiny");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("decode and time only").And.Contain("FPS with decoding").And.Not.Contain("wrote "));
    }

    [Test]
    public void ProfileBreaksTheDecoderDownByOp()
    {
        var run = Zoe.Run("profile", "--model", "micro", "--blocks", "1", "--decode", "tiny");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain("decoder tiny: per-op breakdown of decoding the same 1 block"));
        Assert.That(run.Out, Does.Contain("conv3d"), "the decoder's convolutions are in its table");
        Assert.That(run.Out, Does.Match(@"decode [0-9.]+ ms per block wall, ops [0-9.]+ ms; 12 video frames: [0-9.]+ FPS decoding alone"));
    }
}
