// VideoSink: decoded blocks in, a video a person can watch out, written as the blocks arrive (an
// unbounded stream never holds more than a block of frames, plus the contact sheet's bounded
// tiles). The format follows the path: .mp4 (ffmpeg, or Y4M beside it when ffmpeg is missing),
// .y4m, or a folder (a path ending in a separator, an existing folder, or a name without an
// extension) of PNG frames. The writer starts on the first block, when the frame size is known.
using System.Globalization;
using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>Writes a stream's decoded blocks as MP4, Y4M or PNG frames, and a contact sheet.</summary>
public sealed class VideoSink : IDisposable
{
    private readonly VideoSinkOptions _options;
    private readonly ContactSheet? _sheet;
    private Mp4Writer? _mp4;
    private Y4mWriter? _y4m;
    private bool _completed;

    private VideoSink(string requested, string path, VideoFormat format, VideoSinkOptions options)
    {
        Requested = requested;
        Path = path;
        Format = format;
        _options = options;
        _sheet = options.ContactSheet is null ? null : new ContactSheet();
    }

    /// <summary>The path the caller asked for.</summary>
    public string Requested { get; }

    /// <summary>What is written: the MP4 or Y4M file (the Y4M beside an asked MP4 without ffmpeg), or the frames' folder.</summary>
    public string Path { get; }

    /// <summary>The format written (<see cref="VideoFormat.Y4m"/> for an asked MP4 without ffmpeg).</summary>
    public VideoFormat Format { get; }

    /// <summary>The video encoder (libx264 or mpeg4) for MP4 once the first block is written; else null.</summary>
    public string? Encoder => _mp4?.Encoder;

    /// <summary>The contact sheet's path, or null for none.</summary>
    public string? ContactSheetPath => _options.ContactSheet;

    /// <summary>Blocks written.</summary>
    public int Blocks { get; private set; }

    /// <summary>Video frames written.</summary>
    public long Frames { get; private set; }

    /// <summary>Frame width (0 before the first block).</summary>
    public int Width { get; private set; }

    /// <summary>Frame height (0 before the first block).</summary>
    public int Height { get; private set; }

    /// <summary>
    /// The format of <paramref name="path"/>: .mp4, .y4m, or a folder of PNG frames (a path that
    /// ends in a separator, is a folder, or has no extension).
    /// </summary>
    /// <exception cref="ArgumentException">Another extension; the message lists the formats.</exception>
    public static VideoFormat FormatOf(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path.EndsWith('/') || path.EndsWith(System.IO.Path.DirectorySeparatorChar) || Directory.Exists(path))
        {
            return VideoFormat.PngFrames;
        }
        return System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".mp4" => VideoFormat.Mp4,
            ".y4m" => VideoFormat.Y4m,
            "" => VideoFormat.PngFrames,
            var other => throw new ArgumentException($"video {path}: '{other}' is not a format written here; expected .mp4 (ffmpeg), .y4m, or a folder for PNG frames (e.g. frames/)"),
        };
    }

    /// <summary>The default contact sheet of a video: out.mp4 -> out.contact.png; frames/ -> frames.contact.png beside the folder.</summary>
    public static string ContactSheetBeside(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string trimmed = System.IO.Path.TrimEndingDirectorySeparator(path);
        return FormatOf(path) == VideoFormat.PngFrames
            ? trimmed + ".contact.png"
            : System.IO.Path.ChangeExtension(trimmed, ".contact.png");
    }

    /// <summary>The file of frame <paramref name="index"/> in a PNG frames folder.</summary>
    public static string FrameFile(string folder, long index) =>
        System.IO.Path.Combine(folder, string.Create(CultureInfo.InvariantCulture, $"frame_{index:D6}.png"));

    /// <summary>
    /// Opens a sink: folders are created; a frames folder that already holds frame_*.png is refused
    /// (old frames after the new ones would play as one video); an MP4 without ffmpeg says so
    /// (<see cref="VideoSinkOptions.Notice"/>) and becomes a Y4M beside it.
    /// </summary>
    /// <exception cref="ArgumentException">An unknown format, or a frames folder with frames in it.</exception>
    public static VideoSink Open(string path, VideoSinkOptions? options = null)
    {
        options ??= new VideoSinkOptions();
        if (options.Fps <= 0)
        {
            throw new ArgumentException($"video {path}: {options.Fps} fps: the frame rate must be positive");
        }
        var format = FormatOf(path);
        string target = path;
        if (format == VideoFormat.PngFrames)
        {
            Directory.CreateDirectory(path);
            int old = Directory.EnumerateFiles(path, "frame_*.png").Count();
            if (old > 0)
            {
                throw new ArgumentException($"video {path}: the folder already holds {old} frame_*.png file(s) from an earlier run; empty it or choose another folder");
            }
        }
        else
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
            if (format == VideoFormat.Mp4 && options.Ffmpeg is null)
            {
                target = System.IO.Path.ChangeExtension(path, ".y4m");
                format = VideoFormat.Y4m;
                options.Notice($"video: ffmpeg is not on PATH, so {path} cannot be encoded: writing {target} (YUV4MPEG2; ffmpeg, mpv and VLC play it, `ffmpeg -i {target} {path}` converts it)");
            }
            else if (format == VideoFormat.Mp4)
            {
                // Its encoders are asked now (once), not in the middle of the stream.
                _ = Video.Ffmpeg.HasLibx264(options.Ffmpeg!);
            }
        }
        if (options.ContactSheet is { } sheet)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(sheet))!);
        }
        return new VideoSink(path, target, format, options);
    }

    /// <summary>Writes a block's frames (the next block of the stream).</summary>
    /// <exception cref="ArgumentException">Frames of another size than the first block's.</exception>
    /// <exception cref="ZoetropeVideoException">ffmpeg stopped; the message has its stderr tail.</exception>
    public void Write(VideoFrames frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        ObjectDisposedException.ThrowIf(_completed, this);
        if (Blocks == 0)
        {
            Start(frames.Width, frames.Height);
        }
        else if (frames.Width != Width || frames.Height != Height)
        {
            throw new ArgumentException($"video {Path}: block {Blocks} has {frames.Width}x{frames.Height} frames; the video is {Width}x{Height}");
        }
        switch (Format)
        {
            case VideoFormat.Mp4:
                _mp4!.Write(frames);
                break;
            case VideoFormat.Y4m:
                _y4m!.Write(frames);
                break;
            default:
                for (int i = 0; i < frames.Count; i++)
                {
                    PngEncoder.Write(FrameFile(Path, Frames + i), VideoPixels.Frame(frames, i), frames.Width, frames.Height);
                }
                break;
        }
        _sheet?.Add(Blocks, frames);
        Blocks++;
        Frames += frames.Count;
    }

    /// <summary>Finishes the video (ffmpeg writes its index) and writes the contact sheet. Safe to call twice.</summary>
    /// <exception cref="ZoetropeVideoException">ffmpeg failed; the message has its stderr tail.</exception>
    public void Complete()
    {
        if (_completed)
        {
            return;
        }
        _completed = true;
        _mp4?.Finish();
        _y4m?.Dispose();
        if (_options.ContactSheet is { } sheet)
        {
            _sheet!.Write(sheet);
        }
    }

    /// <summary>Releases the writers; without <see cref="Complete"/> the video is left unfinished (ffmpeg is stopped).</summary>
    public void Dispose()
    {
        _completed = true;
        _mp4?.Dispose();
        _y4m?.Dispose();
    }

    private void Start(int width, int height)
    {
        Width = width;
        Height = height;
        if (Format != VideoFormat.PngFrames && ((width | height) & 1) != 0)
        {
            _options.Notice($"video: {width}x{height} frames padded to {width + (width & 1)}x{height + (height & 1)} in {Path} (4:2:0 needs even sizes; the last column/row is repeated)");
        }
        if (Format == VideoFormat.Mp4)
        {
            _mp4 = new Mp4Writer(_options.Ffmpeg!, Path, width, height, _options.Fps);
        }
        else if (Format == VideoFormat.Y4m)
        {
            _y4m = new Y4mWriter(File.Create(Path), width, height, _options.Fps);
        }
    }
}
