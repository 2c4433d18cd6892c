namespace Zoetrope.Runtime.Ops;

/// <summary>
/// User-supplied inputs (by name) and attributes (name=value strings) from which an op recovers
/// its parameters (<see cref="IOp{TParams}.Bind"/>); used by <c>zoe run-op</c>. Attributes are
/// read through the op's declared <see cref="OpAttr{T}"/> objects, and every read is recorded,
/// so <see cref="OpInfo{TParams}"/> can tell an attribute or input the op never looked at
/// (a misspelling, a wrong op) from one it used.
/// </summary>
public sealed class OpBinding(string op, IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, string> attributes)
{
    private readonly HashSet<string> _readAttributes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _readInputs = new(StringComparer.Ordinal);

    /// <summary>The op being bound (for messages).</summary>
    public string Op { get; } = op;

    /// <summary>The inputs by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Inputs { get; } = inputs;

    /// <summary>The attributes by name.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; } = attributes;

    /// <summary>The attributes <c>Bind</c> read (given or not).</summary>
    public IReadOnlyCollection<string> ReadAttributes => _readAttributes;

    /// <summary>The inputs <c>Bind</c> read or asked about.</summary>
    public IReadOnlyCollection<string> ReadInputs => _readInputs;

    /// <summary>The input named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">It was not given.</exception>
    public Tensor Input(string name)
    {
        _readInputs.Add(name);
        return Inputs.TryGetValue(name, out var t)
            ? t
            : throw new ArgumentException(
                $"op '{Op}' needs an input named '{name}' (given: {(Inputs.Count == 0 ? "none" : string.Join(", ", Inputs.Keys))})");
    }

    /// <summary>True when the optional input <paramref name="name"/> was given.</summary>
    public bool Has(string name)
    {
        _readInputs.Add(name);
        return Inputs.ContainsKey(name);
    }

    /// <summary>Attribute <paramref name="attr"/>'s value, or its default when not given.</summary>
    /// <exception cref="ArgumentException">The value is not of the attribute's type or outside its allowed values.</exception>
    public T Get<T>(OpAttr<T> attr)
    {
        ArgumentNullException.ThrowIfNull(attr);
        _readAttributes.Add(attr.Name);
        return Attributes.TryGetValue(attr.Name, out var text) ? attr.Parse(Op, text) : attr.Default;
    }
}
