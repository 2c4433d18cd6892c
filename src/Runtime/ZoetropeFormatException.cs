namespace Zoetrope.Runtime;

/// <summary>
/// A file (.npy, safetensors) is corrupt, truncated or of an unsupported kind. The message names
/// the file and the byte offset where reading failed.
/// </summary>
public sealed class ZoetropeFormatException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/> at byte <paramref name="offset"/>.</summary>
    public ZoetropeFormatException(string file, long offset, string message, Exception? inner = null)
        : base($"{file}: at byte {offset}: {message}", inner)
    {
        File = file;
        Offset = offset;
    }

    /// <summary>The file that failed to read (a path, or a label for in-memory data).</summary>
    public string File { get; }

    /// <summary>The byte offset in the file where the problem was found.</summary>
    public long Offset { get; }
}
