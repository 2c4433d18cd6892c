namespace Zoetrope.Engine;

/// <summary>
/// A checkpoint file cannot be read as one model as asked: it holds several copies and none was
/// chosen, the chosen copy does not exist, or two keys become one after cleaning. The message
/// names the file, the copies it holds and how to choose. An <see cref="ArgumentException"/>
/// because the fix is in the arguments (the copy to read), not in the file.
/// </summary>
public sealed class ZoetropeCheckpointException : ArgumentException
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public ZoetropeCheckpointException(string file, IReadOnlyList<string> copies, string message)
        : base($"{file}: {message}")
    {
        File = file;
        Copies = copies;
    }

    /// <summary>The checkpoint.</summary>
    public string File { get; }

    /// <summary>The copies of the model the file holds (top-level key names), possibly none.</summary>
    public IReadOnlyList<string> Copies { get; }
}
