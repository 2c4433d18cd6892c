// Mp4Writer: an MP4 written by ffmpeg as frames arrive. ffmpeg runs from the first frame with the
// Y4M stream on its stdin (Y4mWriter writes into the pipe, so nothing is held in memory or on disk
// but what ffmpeg buffers) and its stderr drained on another thread into a bounded tail: an
// undrained stderr pipe would block ffmpeg, and the tail is what a failure reports. A pipe that
// breaks (ffmpeg exited early) and a non-zero exit both end in a ZoetropeVideoException with it.
using System.Diagnostics;
using Zoetrope.Engine.Decode;

namespace Zoetrope.Engine.Video;

/// <summary>Pipes frames through ffmpeg into an MP4 file.</summary>
internal sealed class Mp4Writer : IDisposable
{
    private const int TailLines = 20;
    private readonly Process _ffmpeg;
    private readonly Queue<string> _tail = new();
    private readonly Y4mWriter _y4m;
    private bool _finished;

    /// <summary>Starts ffmpeg (<paramref name="ffmpeg"/>, a path) writing <paramref name="path"/> from frames of the given size.</summary>
    /// <exception cref="ZoetropeVideoException">ffmpeg could not be started.</exception>
    public Mp4Writer(string ffmpeg, string path, int width, int height, int fps)
    {
        ArgumentNullException.ThrowIfNull(ffmpeg);
        ArgumentNullException.ThrowIfNull(path);
        Path = System.IO.Path.GetFullPath(path);
        Encoder = Ffmpeg.HasLibx264(ffmpeg) ? "libx264" : "mpeg4";
        var start = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in Ffmpeg.Mp4Arguments(Path, Encoder == "libx264"))
        {
            start.ArgumentList.Add(a);
        }
        try
        {
            _ffmpeg = Process.Start(start) ?? throw new ZoetropeVideoException($"mp4 {Path}: ffmpeg ({ffmpeg}) did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new ZoetropeVideoException($"mp4 {Path}: ffmpeg ({ffmpeg}) could not be started: {e.Message}");
        }
        _ffmpeg.ErrorDataReceived += (_, e) => Keep(e.Data);
        _ffmpeg.OutputDataReceived += (_, e) => Keep(e.Data);
        _ffmpeg.BeginErrorReadLine();
        _ffmpeg.BeginOutputReadLine();
        try
        {
            _y4m = new Y4mWriter(_ffmpeg.StandardInput.BaseStream, width, height, fps);
        }
        catch (IOException)
        {
            throw Failed("took no input");
        }
    }

    /// <summary>The MP4 file (full path).</summary>
    public string Path { get; }

    /// <summary>The encoder ffmpeg runs: libx264 or mpeg4.</summary>
    public string Encoder { get; }

    /// <summary>The Y4M stream ffmpeg reads (its size is the encoded one: odd sizes padded to even).</summary>
    public Y4mWriter Stream => _y4m;

    /// <summary>Appends frames.</summary>
    /// <exception cref="ZoetropeVideoException">ffmpeg stopped reading (it exited); the message has its stderr tail.</exception>
    public void Write(VideoFrames frames)
    {
        try
        {
            _y4m.Write(frames);
        }
        catch (IOException e) when (e is not ZoetropeVideoException)
        {
            throw Failed("stopped reading frames");
        }
    }

    /// <summary>Closes ffmpeg's input and waits for it to finish the file.</summary>
    /// <exception cref="ZoetropeVideoException">ffmpeg exited with an error; the message has its stderr tail.</exception>
    public void Finish()
    {
        if (_finished)
        {
            return;
        }
        _finished = true;
        try
        {
            _y4m.Dispose();
        }
        catch (IOException)
        {
            // A broken pipe at close: the exit code below says why.
        }
        _ffmpeg.WaitForExit();
        if (_ffmpeg.ExitCode != 0)
        {
            throw Failed($"exited {_ffmpeg.ExitCode}");
        }
    }

    /// <summary>Stops ffmpeg if <see cref="Finish"/> was not called (the file is then incomplete).</summary>
    public void Dispose()
    {
        if (!_finished && !_ffmpeg.HasExited)
        {
            try
            {
                _ffmpeg.Kill();
                _ffmpeg.WaitForExit();
            }
            catch (InvalidOperationException)
            {
                // It exited on its own meanwhile.
            }
        }
        _finished = true;
        _ffmpeg.Dispose();
    }

    private ZoetropeVideoException Failed(string what)
    {
        if (!_ffmpeg.WaitForExit(10_000))
        {
            _ffmpeg.Kill();
        }
        _ffmpeg.WaitForExit();
        string tail;
        lock (_tail)
        {
            tail = _tail.Count == 0 ? "(nothing on stderr)" : string.Join(" | ", _tail);
        }
        return new ZoetropeVideoException($"mp4 {Path}: ffmpeg {what}: {tail}");
    }

    private void Keep(string? line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return;
        }
        lock (_tail)
        {
            _tail.Enqueue(line.Trim());
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }
}
