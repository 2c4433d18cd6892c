namespace Zoetrope.Engine;

/// <summary>
/// A checkpoint does not fit the model: the message names every missing, unexpected and
/// mis-shaped key (and the file), so a user can see at once which checkpoint or preset is wrong.
/// </summary>
public sealed class ZoetropeWeightsException : Exception
{
    /// <summary>Creates the exception for <paramref name="file"/>.</summary>
    public ZoetropeWeightsException(string file, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
        : base(Describe(file, model, missing, unexpected, misshaped))
    {
        File = file;
        Missing = missing;
        Unexpected = unexpected;
        Misshaped = misshaped;
    }

    /// <summary>The checkpoint.</summary>
    public string File { get; }

    /// <summary>Keys the model needs that the file lacks.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Keys the file has that the model does not know.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys whose shape or dtype is wrong, each with expected and actual.</summary>
    public IReadOnlyList<string> Misshaped { get; }

    private static string Describe(string file, string model, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> misshaped)
    {
        static string List(string what, IReadOnlyList<string> keys) =>
            keys.Count == 0 ? string.Empty : $"; {keys.Count} {what}: {string.Join(", ", keys.Take(12))}{(keys.Count > 12 ? ", ..." : string.Empty)}";
        return $"{file}: does not fit model '{model}'{List("missing", missing)}{List("unexpected", unexpected)}{List("mis-shaped", misshaped)}";
    }
}
