using System.Globalization;

namespace Zoetrope.Runtime.Ops;

/// <summary>
/// User-supplied inputs (by name) and attributes (name=value strings) from which an op recovers
/// its parameters (<see cref="IOp{TParams}.Bind"/>); used by <c>zoe run-op</c>.
/// </summary>
public sealed class OpBinding(string op, IReadOnlyDictionary<string, Tensor> inputs, IReadOnlyDictionary<string, string> attributes)
{
    /// <summary>The op being bound (for messages).</summary>
    public string Op { get; } = op;

    /// <summary>The inputs by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Inputs { get; } = inputs;

    /// <summary>The attributes by name.</summary>
    public IReadOnlyDictionary<string, string> Attributes { get; } = attributes;

    /// <summary>The input named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">It was not given.</exception>
    public Tensor Input(string name) =>
        Inputs.TryGetValue(name, out var t)
            ? t
            : throw new ArgumentException(
                $"op '{Op}' needs an input named '{name}' (given: {(Inputs.Count == 0 ? "none" : string.Join(", ", Inputs.Keys))})", name);

    /// <summary>Attribute <paramref name="name"/> as a float, or <paramref name="fallback"/>.</summary>
    public float Float(string name, float fallback) => Parse(name, fallback, s => float.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>Attribute <paramref name="name"/> as an integer, or <paramref name="fallback"/>.</summary>
    public long Int(string name, long fallback) => Parse(name, fallback, s => long.Parse(s, CultureInfo.InvariantCulture));

    /// <summary>Attribute <paramref name="name"/> as a dtype, or <paramref name="fallback"/>.</summary>
    public DType DType(string name, DType fallback) => Parse(name, fallback, DTypes.Parse);

    /// <summary>Attribute <paramref name="name"/> as a string, or <paramref name="fallback"/>.</summary>
    public string String(string name, string fallback) => Attributes.TryGetValue(name, out var v) ? v : fallback;

    private T Parse<T>(string name, T fallback, Func<string, T> parse)
    {
        if (!Attributes.TryGetValue(name, out var text))
        {
            return fallback;
        }
        try
        {
            return parse(text);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            throw new ArgumentException($"op '{Op}': attribute {name}={text} is not a valid {typeof(T).Name}", name, e);
        }
    }
}
