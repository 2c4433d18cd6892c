using System.Collections;

namespace Zoetrope.Runtime.Ops;

/// <summary>The tensors of one op call, by name.</summary>
public sealed class OpTensors : IEnumerable<KeyValuePair<string, Tensor>>
{
    private readonly Dictionary<string, Tensor> _byName = new(StringComparer.Ordinal);

    /// <summary>Creates an empty set; add with the collection initializer.</summary>
    public OpTensors()
    {
    }

    /// <summary>Creates a set from named tensors.</summary>
    public OpTensors(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            Add(name, t);
        }
    }

    /// <summary>Names present.</summary>
    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>The tensor named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such tensor.</exception>
    public Tensor this[string name] =>
        _byName.TryGetValue(name, out var t)
            ? t
            : throw new ArgumentException($"no tensor named '{name}' (have: {string.Join(", ", _byName.Keys)})", nameof(name));

    /// <summary>Adds a tensor under <paramref name="name"/>.</summary>
    public void Add(string name, Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!_byName.TryAdd(name, tensor))
        {
            throw new ArgumentException($"tensor '{name}' given twice", nameof(name));
        }
    }

    /// <summary>True when a tensor named <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>The elements of tensor <paramref name="name"/> as doubles (row-major).</summary>
    public double[] Read(string name) => this[name].ToDoubles();

    /// <summary>Writes doubles into tensor <paramref name="name"/> (rounded to its dtype).</summary>
    public void Write(string name, ReadOnlySpan<double> values) => this[name].WriteDoubles(values);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, Tensor>> GetEnumerator() => _byName.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
