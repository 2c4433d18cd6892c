namespace Zoetrope.Engine.Video;

/// <summary>How a <see cref="VideoSink"/> writes.</summary>
public sealed record VideoSinkOptions
{
    /// <summary>Wan2.1's output frame rate (its VAE decodes 81 frames for a 5-second clip): 16.</summary>
    public const int WanFps = 16;

    /// <summary>Frames per second of Y4M and MP4 output (PNG frames have none).</summary>
    public int Fps { get; init; } = WanFps;

    /// <summary>Where to write the contact sheet (first frame of every block), or null for none.</summary>
    public string? ContactSheet { get; init; }

    /// <summary>
    /// The ffmpeg executable for MP4 output: by default the one on PATH (<see cref="Ffmpeg.Find"/>);
    /// null means none, and MP4 output falls back to Y4M beside the asked path.
    /// </summary>
    public string? Ffmpeg { get; init; } = Video.Ffmpeg.Find();

    /// <summary>Where notices go (the ffmpeg fallback, padding of odd sizes); default: stderr.</summary>
    public Action<string> Notice { get; init; } = static m => Console.Error.WriteLine(m);
}
