namespace Zoetrope.Runtime.IO;

/// <summary>Python's None on the restricted unpickler's stack (a singleton, so the stack never holds null).</summary>
internal sealed class PickleNone
{
    public static readonly PickleNone Value = new();

    private PickleNone()
    {
    }

    public override string ToString() => "None";
}

/// <summary>A tuple: fixed items.</summary>
internal sealed class PickleTuple(object[] items)
{
    public object[] Items { get; } = items;
}

/// <summary>A list (APPEND / APPENDS target).</summary>
internal sealed class PickleList
{
    public List<object> Items { get; } = [];
}

/// <summary>
/// A dict or OrderedDict, in insertion order (Python keeps it, and a state dict's order is the
/// checkpoint's order). Setting an existing key replaces its value in place, as Python does.
/// </summary>
internal sealed class PickleDict
{
    private readonly Dictionary<object, int> _index = new(PickleKeyComparer.Instance);

    public List<KeyValuePair<object, object>> Items { get; } = [];

    public void Set(object key, object value)
    {
        if (_index.TryGetValue(key, out int at))
        {
            Items[at] = new(key, value);
            return;
        }
        _index[key] = Items.Count;
        Items.Add(new(key, value));
    }
}

/// <summary>
/// A global the host allowed (GLOBAL / STACK_GLOBAL). It is a name, never something looked up
/// or run: REDUCE hands it back to the host, which knows what each allowed name builds.
/// </summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>Key equality as Python's for the keys a state dict uses (str, int); anything else by reference.</summary>
internal sealed class PickleKeyComparer : IEqualityComparer<object>
{
    public static readonly PickleKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => (x, y) switch
    {
        (string a, string b) => string.Equals(a, b, StringComparison.Ordinal),
        (long a, long b) => a == b,
        (bool a, bool b) => a == b,
        _ => ReferenceEquals(x, y),
    };

    public int GetHashCode(object obj) => obj switch
    {
        string s => StringComparer.Ordinal.GetHashCode(s),
        long l => l.GetHashCode(),
        bool b => b.GetHashCode(),
        _ => System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(obj),
    };
}

/// <summary>What the restricted unpickler asks of the format it reads: which globals exist, what they build, what a persistent id is.</summary>
internal interface IPickleHost
{
    /// <summary>The object a GLOBAL names; throws (naming it) for anything not on the host's allow-list.</summary>
    object Global(string module, string name, long offset);

    /// <summary>REDUCE / NEWOBJ: <paramref name="callable"/> applied to <paramref name="args"/>.</summary>
    object Call(object callable, object[] args, long offset);

    /// <summary>BUILD: <paramref name="state"/> applied to <paramref name="target"/>; returns the object that stays on the stack.</summary>
    object Build(object target, object state, long offset);

    /// <summary>BINPERSID: the object a persistent id refers to.</summary>
    object PersistentLoad(object pid, long offset);
}
