using System.Diagnostics;
using NUnit.Framework;
using SkiaSharp;

namespace Zoetrope.Tests.Engine;

/// <summary>
/// Reading written video back with implementations nobody here wrote: ffprobe/ffmpeg (tests skip
/// with Assert.Ignore naming the tool where it is not installed) and SkiaSharp for PNG; plus a
/// small YUV4MPEG2 parser.
/// </summary>
internal static class VideoProbe
{
    /// <summary>The tool's path, or the test is ignored saying which tool is missing.</summary>
    public static string Tool(string name) =>
        ToolOnPath.Find(name) ?? throw new IgnoreException($"{name} is not on PATH (CI installs ffmpeg, which brings ffprobe; apt-get install ffmpeg)");

    /// <summary>Runs a tool; its stdout as text, or a failed assertion with its stderr.</summary>
    public static string Run(string tool, params string[] args) => System.Text.Encoding.UTF8.GetString(RunBytes(tool, args));

    /// <summary>Raw bytes a tool writes to stdout.</summary>
    public static byte[] RunBytes(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(Tool(tool)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var p = Process.Start(start)!;
        var err = p.StandardError.ReadToEndAsync();
        using var bytes = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(bytes);
        p.WaitForExit();
        Assert.That(p.ExitCode, Is.Zero, $"{tool} {string.Join(' ', args)}: {err.Result}");
        return bytes.ToArray();
    }

    /// <summary>ffprobe's view of the first video stream: codec_name, width, height, nb_read_frames, pix_fmt, ...</summary>
    public static Dictionary<string, string> Stream(string path)
    {
        string text = Run("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
            "-show_entries", "stream=codec_name,width,height,nb_read_frames,pix_fmt,color_range,r_frame_rate", "-of", "default=noprint_wrappers=1", path);
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0].Trim(), kv => kv[1].Trim());
    }

    /// <summary>A PNG decoded by SkiaSharp as RGB bytes [height, width, 3].</summary>
    public static (byte[] Rgb, int Width, int Height) Png(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new AssertionException("SkiaSharp could not decode the PNG");
        var rgb = new byte[bitmap.Width * bitmap.Height * 3];
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                var c = bitmap.GetPixel(x, y);
                int o = ((y * bitmap.Width) + x) * 3;
                rgb[o] = c.Red;
                rgb[o + 1] = c.Green;
                rgb[o + 2] = c.Blue;
                Assert.That(c.Alpha, Is.EqualTo(255));
            }
        }
        return (rgb, bitmap.Width, bitmap.Height);
    }

    /// <summary>A YUV4MPEG2 file: its header's fields and each frame's Y, Cb, Cr planes (4:2:0).</summary>
    public static (Dictionary<char, string> Header, string[] Extras, List<(byte[] Y, byte[] Cb, byte[] Cr)> Frames) Y4m(byte[] file)
    {
        int end = Array.IndexOf(file, (byte)'\n');
        string[] words = System.Text.Encoding.ASCII.GetString(file, 0, end).Split(' ');
        Assert.That(words[0], Is.EqualTo("YUV4MPEG2"));
        var header = words.Skip(1).Where(w => w[0] != 'X').ToDictionary(w => w[0], w => w[1..]);
        string[] extras = words.Skip(1).Where(w => w[0] == 'X').Select(w => w[1..]).ToArray();
        int width = int.Parse(header['W'], System.Globalization.CultureInfo.InvariantCulture);
        int height = int.Parse(header['H'], System.Globalization.CultureInfo.InvariantCulture);
        int luma = width * height, chroma = (width / 2) * (height / 2);
        var frames = new List<(byte[], byte[], byte[])>();
        int at = end + 1;
        while (at < file.Length)
        {
            Assert.That(System.Text.Encoding.ASCII.GetString(file, at, 6), Is.EqualTo("FRAME\n"), $"frame {frames.Count} at byte {at}");
            at += 6;
            Assert.That(file.Length - at, Is.GreaterThanOrEqualTo(luma + (2 * chroma)), "a truncated frame");
            frames.Add((file[at..(at + luma)], file[(at + luma)..(at + luma + chroma)], file[(at + luma + chroma)..(at + luma + (2 * chroma))]));
            at += luma + (2 * chroma);
        }
        return (header, extras, frames);
    }
}
