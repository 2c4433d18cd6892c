// Which keys of a checkpoint file are the model: training checkpoints (Self-Forcing, LongLive)
// hold several copies of the generator side by side ({generator, generator_ema, critic}), and
// their keys may carry the tokens of the wrappers the model was trained under. The copy is chosen
// by name, never guessed from key lengths: a file with several copies and no choice is refused.
using Zoetrope.Runtime.IO;

namespace Zoetrope.Engine;

/// <summary>The keys of one model copy inside a checkpoint file, cleaned of training wrappers' tokens.</summary>
internal sealed class CheckpointSelection
{
    /// <summary>
    /// Tokens PyTorch's training wrappers put into parameter names (FSDP, activation
    /// checkpointing, torch.compile). Self-Forcing's trainer and LongLive's EMA loader remove
    /// exactly these with <c>str.replace</c>; so does <see cref="Clean"/>.
    /// </summary>
    public static IReadOnlyList<string> WrapperTokens { get; } = ["_fsdp_wrapped_module.", "_checkpoint_wrapped_module.", "_orig_mod."];

    private CheckpointSelection(string file, string? copy, bool named, string prefix, IReadOnlyList<(string Name, string Key)> keys, IReadOnlyList<string> outside, IReadOnlyList<string> copies)
    {
        File = file;
        Copy = copy;
        CopyNamed = named;
        Prefix = prefix;
        Keys = keys;
        Outside = outside;
        Copies = copies;
    }

    /// <summary>The checkpoint.</summary>
    public string File { get; }

    /// <summary>The copy read: the one named, or the top-level key of the only one (null for flat keys).</summary>
    public string? Copy { get; }

    /// <summary>True when the copy was chosen by name (then keys outside it are ignored, not unexpected).</summary>
    public bool CopyNamed { get; }

    /// <summary>The cleaned key prefix in front of the model's own names, e.g. <c>generator_ema.model.</c> (empty for flat keys).</summary>
    public string Prefix { get; }

    /// <summary>The selected tensors in file order: the model's name (cleaned, after <see cref="Prefix"/>) and the raw key in the file.</summary>
    public IReadOnlyList<(string Name, string Key)> Keys { get; }

    /// <summary>Raw keys outside the selection (the other copies, a critic, ...).</summary>
    public IReadOnlyList<string> Outside { get; }

    /// <summary>The copies the file holds (top-level key names of the anchors; empty for flat keys).</summary>
    public IReadOnlyList<string> Copies { get; }

    /// <summary><paramref name="key"/> without the wrapper tokens of <see cref="WrapperTokens"/>, wherever they occur.</summary>
    public static string Clean(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (var token in WrapperTokens)
        {
            key = key.Replace(token, string.Empty, StringComparison.Ordinal);
        }
        return key;
    }

    /// <summary>
    /// Selects the copy named <paramref name="copy"/> (a top-level key or dotted key path), or,
    /// when null, the file's only copy. Inside the copy a nesting prefix such as <c>model.</c> is
    /// found from <paramref name="anchor"/> (a key every copy holds; with none, the copy's keys
    /// are taken as they are).
    /// </summary>
    /// <exception cref="ZoetropeCheckpointException">Several copies and none named; the named copy does not exist; two keys clean to one name.</exception>
    public static CheckpointSelection Select(ITensorFile file, string? copy, string anchor = WanWeightNames.Anchor)
    {
        ArgumentNullException.ThrowIfNull(file);
        var cleaned = file.Names.Select(k => (Name: Clean(k), Key: k)).ToList();
        var prefixes = AnchorPrefixes(cleaned.Select(c => c.Name), anchor);
        var copies = CopyNames(prefixes, cleaned.Select(c => c.Name));
        string prefix;
        string? chosen;
        if (copy is null)
        {
            if (prefixes.Count > 1)
            {
                throw new ZoetropeCheckpointException(file.Path, copies,
                    $"holds {prefixes.Count} copies of the model ({Listing(prefixes, anchor)}); choose one: {HowToChoose(copies)}");
            }
            prefix = prefixes.Count == 1 ? prefixes[0] : string.Empty;
            chosen = prefix.Length == 0 ? null : prefix[..prefix.IndexOf('.', StringComparison.Ordinal)];
        }
        else
        {
            chosen = copy.Trim('.');
            if (chosen.Length == 0)
            {
                throw new ArgumentException($"{file.Path}: copy '{copy}': an empty name", nameof(copy));
            }
            string scope = chosen + ".";
            if (!cleaned.Any(c => c.Name.StartsWith(scope, StringComparison.Ordinal)))
            {
                throw new ZoetropeCheckpointException(file.Path, copies, copies.Count == 0
                    ? $"no copy '{chosen}': the file holds one copy, at the top level (flat keys); leave the copy out"
                    : $"no copy '{chosen}'; the file holds {string.Join(", ", copies)}; choose one: {HowToChoose(copies)}");
            }
            var inner = prefixes.Where(p => p.StartsWith(scope, StringComparison.Ordinal)).ToList();
            if (inner.Count > 1)
            {
                throw new ZoetropeCheckpointException(file.Path, copies,
                    $"copy '{chosen}' holds {inner.Count} copies of the model ({Listing(inner, anchor)}); name one of them as the copy");
            }
            prefix = inner.Count == 1 ? inner[0] : scope;
        }

        var keys = new List<(string Name, string Key)>();
        var outside = new List<string>();
        foreach (var (name, key) in cleaned)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                keys.Add((name[prefix.Length..], key));
            }
            else
            {
                outside.Add(key);
            }
        }
        var clashes = keys.GroupBy(k => k.Name, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => string.Join(" and ", g.Select(k => $"'{k.Key}'"))).ToList();
        if (clashes.Count > 0)
        {
            throw new ZoetropeCheckpointException(file.Path, copies,
                $"{clashes.Count} key(s) name one tensor twice once the wrapper tokens ({string.Join(", ", WrapperTokens)}) are removed: {string.Join("; ", clashes.Take(8))}{(clashes.Count > 8 ? "; ..." : string.Empty)}");
        }
        return new CheckpointSelection(file.Path, chosen, copy is not null, prefix, keys, outside, copies);
    }

    /// <summary>The distinct prefixes in front of <paramref name="anchor"/> (segment-aligned), in file order.</summary>
    private static List<string> AnchorPrefixes(IEnumerable<string> names, string anchor) =>
        names.Where(n => n == anchor || n.EndsWith("." + anchor, StringComparison.Ordinal))
            .Select(n => n[..^anchor.Length]).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>
    /// The copies as a user names them: each anchor prefix's top-level key, or the whole prefix
    /// when two share a top-level key; with no anchor, the top-level keys of every nested name.
    /// </summary>
    private static List<string> CopyNames(List<string> prefixes, IEnumerable<string> names)
    {
        if (prefixes.Count == 0)
        {
            return names.Where(n => n.Contains('.', StringComparison.Ordinal)).Select(Top).Distinct(StringComparer.Ordinal).ToList();
        }
        var nested = prefixes.Where(p => p.Length > 0).ToList();
        return nested.Select(p => nested.Count(q => Top(q) == Top(p)) == 1 ? Top(p) : p.TrimEnd('.')).Distinct(StringComparer.Ordinal).ToList();
    }

    private static string Top(string name) => name[..name.IndexOf('.', StringComparison.Ordinal)];

    private static string Listing(IEnumerable<string> prefixes, string anchor) =>
        string.Join(", ", prefixes.Select(p => p.Length == 0 ? $"{anchor} at the top level" : $"{p}*"));

    private static string HowToChoose(IReadOnlyList<string> copies) =>
        "--copy NAME (CheckpointOptions.Copy) with NAME one of " + string.Join(", ", copies) +
        (copies.Contains(CheckpointOptions.EmaCopy) ? $"; --use-ema reads {CheckpointOptions.EmaCopy}" : string.Empty);
}
