using System.Collections;
using System.Globalization;

namespace Zoetrope.Runtime.Ops;

/// <summary>
/// One attribute of an op's contract: its name, type, default, allowed values and meaning. The op
/// declares its attributes once (<see cref="IOp{TParams}.Attributes"/>) and reads them in
/// <c>Bind</c> through these same objects (<see cref="OpBinding.Get{T}"/>), so the contract that
/// <c>zoe ops</c> prints, the validation of <c>--attr</c> and the binding cannot disagree.
/// </summary>
public abstract class OpAttr
{
    private protected OpAttr(string name, string description)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Name = name;
        Description = description;
    }

    /// <summary>The name, as written in <c>--attr name=value</c>.</summary>
    public string Name { get; }

    /// <summary>What it means, in one line.</summary>
    public string Description { get; }

    /// <summary>The type as a user reads it: float, int, bool, one of, dtype.</summary>
    public abstract string TypeName { get; }

    /// <summary>The default as text (for a computed default, what it is computed from).</summary>
    public abstract string DefaultText { get; }

    /// <summary>The allowed values or range as text; empty when any value of the type is allowed.</summary>
    public abstract string AllowedText { get; }

    /// <summary>The allowed values of a choice (for suggestions); empty for other types.</summary>
    public virtual IReadOnlyList<string> Choices => [];

    /// <summary>Why <paramref name="text"/> is not a valid value, or null when it is.</summary>
    public abstract string? Problem(string text);

    /// <summary>A float, optionally in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static OpAttr<float> Float(string name, float fallback, string description, float min = float.NegativeInfinity, float max = float.PositiveInfinity) =>
        new(name, description, "float", Text(fallback), fallback, s => float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), Text, v => float.IsFinite(v) && v >= min && v <= max, Range(min, max, (double v) => Text((float)v)));

    /// <summary>A float whose default is computed from the inputs (e.g. 1/sqrt(head dim)); absent reads as NaN.</summary>
    public static OpAttr<float> ComputedFloat(string name, string defaultText, string description, float min = float.NegativeInfinity, float max = float.PositiveInfinity) =>
        new(name, description, "float", defaultText, float.NaN, s => float.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture), Text, v => float.IsFinite(v) && v >= min && v <= max, Range(min, max, (double v) => Text((float)v)));

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static OpAttr<int> Int(string name, int fallback, string description, int min = int.MinValue, int max = int.MaxValue) =>
        new(name, description, "int", Text(fallback), fallback, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), Text, v => v >= min && v <= max,
            Range(min == int.MinValue ? double.NegativeInfinity : min, max == int.MaxValue ? double.PositiveInfinity : max, (double v) => Text((int)v)));

    /// <summary>An integer among <paramref name="values"/>, or 0 (not given) for a default computed from the inputs.</summary>
    public static OpAttr<int> IntChoice(string name, string defaultText, string description, params int[] values) =>
        new(name, description, "int", defaultText, 0, s => int.Parse(s, NumberStyles.Integer, CultureInfo.InvariantCulture), Text, values.Contains,
            string.Join("|", values.Select(Text)), values.Select(Text).ToArray());

    /// <summary>true or false (nothing else: <c>lse=yes</c> is an error, not false).</summary>
    public static OpAttr<bool> Bool(string name, bool fallback, string description) =>
        new(name, description, "bool", fallback ? "true" : "false", fallback, ParseBool, v => v ? "true" : "false", _ => true, "true|false", ["true", "false"]);

    /// <summary>One of <paramref name="values"/>.</summary>
    public static OpAttr<string> Choice(string name, string fallback, string description, params string[] values)
    {
        if (!values.Contains(fallback, StringComparer.Ordinal))
        {
            throw new ArgumentException($"attribute '{name}': default '{fallback}' is not one of {string.Join("|", values)}", nameof(fallback));
        }
        return new(name, description, "one of", fallback, fallback, s => s, s => s, v => values.Contains(v, StringComparer.Ordinal), string.Join("|", values), values);
    }

    /// <summary>A dtype among <paramref name="allowed"/>.</summary>
    public static OpAttr<DType> DTypeOf(string name, DType fallback, string description, params DType[] allowed) =>
        new(name, description, "dtype", fallback.Name(), fallback, DTypes.Parse, t => t.Name(), allowed.Contains, string.Join("|", allowed.Select(t => t.Name())), allowed.Select(t => t.Name()).ToArray());

    private static bool ParseBool(string s) => s switch
    {
        "true" => true,
        "false" => false,
        _ => throw new FormatException("expected true or false"),
    };

    private static string Text(float v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Text(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Range(double min, double max, Func<double, string> text) =>
        (double.IsInfinity(min), double.IsInfinity(max)) switch
        {
            (true, true) => string.Empty,
            (false, true) => $">= {text(min)}",
            (true, false) => $"<= {text(max)}",
            _ => $"{text(min)}..{text(max)}",
        };
}

/// <summary>An attribute whose values are of type <typeparamref name="T"/>.</summary>
/// <typeparam name="T">The value type.</typeparam>
public sealed class OpAttr<T> : OpAttr
{
    private readonly Func<string, T> _parse;
    private readonly Func<T, string> _format;
    private readonly Func<T, bool> _valid;
    private readonly string[] _choices;

    internal OpAttr(string name, string description, string typeName, string defaultText, T fallback, Func<string, T> parse, Func<T, string> format,
        Func<T, bool> valid, string allowed, string[]? choices = null)
        : base(name, description)
    {
        TypeName = typeName;
        DefaultText = defaultText;
        Default = fallback;
        _parse = parse;
        _format = format;
        _valid = valid;
        AllowedText = allowed;
        _choices = choices ?? [];
    }

    /// <inheritdoc />
    public override string TypeName { get; }

    /// <inheritdoc />
    public override string DefaultText { get; }

    /// <inheritdoc />
    public override string AllowedText { get; }

    /// <inheritdoc />
    public override IReadOnlyList<string> Choices => _choices;

    /// <summary>The value when the attribute is not given.</summary>
    public T Default { get; }

    /// <inheritdoc />
    public override string? Problem(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            var v = _parse(text);
            return _valid(v) ? null : $"{Name}={text}: expected {(AllowedText.Length > 0 ? AllowedText : $"a finite {TypeName}")}";
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return $"{Name}={text}: not a{(TypeName == "int" ? "n" : string.Empty)} {TypeName}{(AllowedText.Length > 0 ? $" ({AllowedText})" : string.Empty)}";
        }
    }

    /// <summary>Parses a value already checked by <see cref="Problem"/>.</summary>
    /// <exception cref="ArgumentException">It is not valid.</exception>
    public T Parse(string op, string text)
    {
        if (Problem(text) is { } problem)
        {
            throw new ArgumentException($"op '{op}': {problem}");
        }
        return _parse(text);
    }

    /// <summary>The text that binds back to <paramref name="value"/>.</summary>
    public string Format(T value) => _format(value);
}

/// <summary>The attributes an op declares, in order; composed from shared sets with <see cref="With"/>.</summary>
public sealed class OpAttributes : IReadOnlyList<OpAttr>
{
    private readonly OpAttr[] _items;

    private OpAttributes(OpAttr[] items)
    {
        var dup = items.GroupBy(a => a.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
        {
            throw new ArgumentException($"attribute '{dup.Key}' declared twice", nameof(items));
        }
        _items = items;
    }

    /// <summary>No attributes.</summary>
    public static OpAttributes None { get; } = new([]);

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <inheritdoc />
    public OpAttr this[int index] => _items[index];

    /// <summary>These attributes.</summary>
    public static OpAttributes Of(params OpAttr[] attributes) => new([.. attributes]);

    /// <summary>These attributes followed by <paramref name="more"/>.</summary>
    public OpAttributes With(params OpAttr[] more) => new([.. _items, .. more]);

    /// <summary>The attribute named <paramref name="name"/>, or null.</summary>
    public OpAttr? Find(string name) => _items.FirstOrDefault(a => a.Name == name);

    /// <inheritdoc />
    public IEnumerator<OpAttr> GetEnumerator() => ((IEnumerable<OpAttr>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _items.GetEnumerator();
}

/// <summary>
/// Attribute values that reproduce one parameter set (the inverse of <c>Bind</c>): what
/// <c>zoe ops</c> writes into a ready-to-paste <c>run-op</c> line. Values equal to the
/// default are left out.
/// </summary>
public sealed class OpAttributeValues
{
    private readonly List<KeyValuePair<string, string>> _values = [];

    /// <summary>The non-default values, in the order set.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Values => _values;

    /// <summary>Sets <paramref name="attr"/> to <paramref name="value"/> (left out when it is the default).</summary>
    public OpAttributeValues Set<T>(OpAttr<T> attr, T value)
    {
        ArgumentNullException.ThrowIfNull(attr);
        if (!EqualityComparer<T>.Default.Equals(value, attr.Default))
        {
            _values.Add(new(attr.Name, attr.Format(value)));
        }
        return this;
    }
}
