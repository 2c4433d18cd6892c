using System.Globalization;

namespace Zoetrope.Cli;

/// <summary>
/// The argument rules every verb shares, in one wording: numbers in range, input files that are
/// files, output paths made ready (missing folders created, a folder or an unwritable place
/// refused) before any work starts. Each rule throws <see cref="ArgumentException"/> with a
/// message that names the option and the value; <see cref="Guard"/> prints it and exits 2.
/// </summary>
public static class CliArgs
{
    /// <summary><paramref name="value"/> must be at least <paramref name="min"/>.</summary>
    /// <exception cref="ArgumentException">It is smaller.</exception>
    public static int AtLeast(int value, int min, string option) =>
        value >= min ? value : throw new ArgumentException(Invariant($"{option} {value}: must be {(min == 0 ? "0 or more" : min == 1 ? "1 or more" : $"at least {min}")}"));

    /// <summary>An input file that exists and is a file.</summary>
    /// <exception cref="ArgumentException">It is missing or a directory.</exception>
    public static string InputFile(string path, string option)
    {
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{Join(option, path)}: is a directory; expected a file");
        }
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{Join(option, path)}: no such file");
        }
        return path;
    }

    /// <summary>
    /// An output file, made ready before any work: its folder is created when missing; a path that
    /// is a folder, or whose folder cannot be created or written, is refused. Nothing is left
    /// behind by the check.
    /// </summary>
    /// <exception cref="ArgumentException">The file cannot be written there; the message says why.</exception>
    public static string OutputFile(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{option}: an empty path");
        }
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{Join(option, path)}: is a directory; expected a file name");
        }
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Prepare(folder, option, path);
        return path;
    }

    /// <summary>An output folder, created when missing; a file in its place or an unwritable folder is refused.</summary>
    /// <exception cref="ArgumentException">The folder cannot be used; the message says why.</exception>
    public static string OutputDirectory(string path, string option)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException($"{option}: an empty path");
        }
        if (File.Exists(path))
        {
            throw new ArgumentException($"{option} {path}: is a file; expected a folder");
        }
        Prepare(Path.GetFullPath(path), option, path);
        return path;
    }

    private static void Prepare(string folder, string option, string given)
    {
        try
        {
            Directory.CreateDirectory(folder);
            // Writable? A probe file, removed at once (a read-only mount or folder says so now, not after the work).
            string probe = Path.Combine(folder, $".zoe-probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
            using (File.Create(probe, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"{Join(option, given)}: cannot write into {folder} ({Plain(e.Message)})", e);
        }
    }

    // "--out x.npy", but "--in q=x.npy" when the option names a tensor.
    private static string Join(string option, string path) => option.EndsWith('=') ? option + path : $"{option} {path}";

    /// <summary>A .NET message without the "(Parameter 'x')" and "Actual value was ..." suffixes.</summary>
    public static string Plain(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        string text = message;
        int actual = text.IndexOf("Actual value was", StringComparison.Ordinal);
        if (actual >= 0)
        {
            text = text[..actual];
        }
        int param = text.LastIndexOf(" (Parameter '", StringComparison.Ordinal);
        if (param >= 0 && text.TrimEnd().EndsWith("')", StringComparison.Ordinal))
        {
            text = text[..param];
        }
        return text.Trim().Replace(Environment.NewLine, " ", StringComparison.Ordinal);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
