// Ffmpeg: finding the ffmpeg executable and asking it, once per executable, whether it was built
// with libx264 (H.264, what every player reads); otherwise MP4s are MPEG-4 part 2 (ffmpeg's own
// mpeg4 encoder, always built in).
using System.Collections.Concurrent;
using System.Diagnostics;

namespace Zoetrope.Engine.Video;

/// <summary>The ffmpeg executable the MP4 writer pipes into.</summary>
internal static class Ffmpeg
{
    private static readonly ConcurrentDictionary<string, bool> X264 = new(StringComparer.Ordinal);

    /// <summary>
    /// The full path of <c>ffmpeg</c> in the folders of <paramref name="pathVariable"/> (default:
    /// this process's PATH), or null when none has it.
    /// </summary>
    public static string? Find(string? pathVariable = null) =>
        (pathVariable ?? Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg"))
            .FirstOrDefault(File.Exists);

    /// <summary>Whether <paramref name="ffmpeg"/> lists the libx264 encoder (asked once per path; false when it cannot be asked).</summary>
    public static bool HasLibx264(string ffmpeg) => X264.GetOrAdd(ffmpeg, static path =>
    {
        try
        {
            var start = new ProcessStartInfo(path) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { "-hide_banner", "-encoders" })
            {
                start.ArgumentList.Add(a);
            }
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            string listing = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            _ = errors.Result;
            return listing.Split('\n').Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, "libx264", ..]);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException or InvalidOperationException)
        {
            return false;
        }
    });

    /// <summary>
    /// The arguments that encode a Y4M stream on stdin into <paramref name="mp4"/>: H.264 (libx264)
    /// when <paramref name="libx264"/>, else MPEG-4 part 2 at a fixed quality; yuv420p; tagged BT.601
    /// limited range (what the Y4M holds); the index moved to the front (+faststart) so a player
    /// starts before the whole file is read.
    /// </summary>
    public static IReadOnlyList<string> Mp4Arguments(string mp4, bool libx264) =>
    [
        "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
        "-f", "yuv4mpegpipe", "-i", "-",
        .. libx264 ? new[] { "-c:v", "libx264" } : ["-c:v", "mpeg4", "-q:v", "3"],
        "-pix_fmt", "yuv420p",
        "-color_range", "tv", "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
        "-movflags", "+faststart", mp4,
    ];
}
