using System.Collections;

namespace Zoetrope.Runtime;

/// <summary>
/// The extents of a tensor, outermost first. Immutable; compares by value; prints as
/// <c>[32760, 1536]</c> so error messages can show expected and actual shapes side by side.
/// </summary>
public readonly struct Shape : IEquatable<Shape>, IReadOnlyList<long>
{
    private readonly long[]? _dims;

    /// <summary>Creates a shape from its extents (each must be non-negative).</summary>
    /// <exception cref="ArgumentException">An extent is negative.</exception>
    public Shape(params long[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        foreach (var d in dims)
        {
            if (d < 0)
            {
                throw new ArgumentException($"shape {Format(dims)} has a negative extent", nameof(dims));
            }
        }
        _dims = (long[])dims.Clone();
    }

    /// <summary>Number of dimensions.</summary>
    public int Rank => _dims?.Length ?? 0;

    /// <summary>Number of dimensions (<see cref="IReadOnlyCollection{T}"/>).</summary>
    public int Count => Rank;

    /// <summary>The extent of dimension <paramref name="i"/>; negative indices count from the end.</summary>
    public long this[int i] => Dims[i < 0 ? Rank + i : i];

    /// <summary>The extents as a span.</summary>
    public ReadOnlySpan<long> Dims => _dims ?? [];

    /// <summary>Product of the extents (1 for a scalar).</summary>
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (var d in Dims)
            {
                n = checked(n * d);
            }
            return n;
        }
    }

    /// <summary>Row-major (C order) strides in elements.</summary>
    public long[] ContiguousStrides()
    {
        var strides = new long[Rank];
        long s = 1;
        for (int i = Rank - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= Math.Max(1, Dims[i]);
        }
        return strides;
    }

    /// <summary>The extents as a new array.</summary>
    public long[] ToArray() => Dims.ToArray();

    /// <summary>Implicit conversion from an array of extents.</summary>
    public static implicit operator Shape(long[] dims) => new(dims);

    /// <inheritdoc />
    public bool Equals(Shape other) => Dims.SequenceEqual(other.Dims);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var d in Dims)
        {
            h.Add(d);
        }
        return h.ToHashCode();
    }

    /// <summary>Value equality.</summary>
    public static bool operator ==(Shape a, Shape b) => a.Equals(b);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Shape a, Shape b) => !a.Equals(b);

    /// <summary>Formats as <c>[a, b, c]</c>.</summary>
    public override string ToString() => Format(Dims);

    /// <summary>Formats extents as <c>[a, b, c]</c>.</summary>
    public static string Format(ReadOnlySpan<long> dims)
    {
        var parts = new string[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            parts[i] = dims[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return "[" + string.Join(", ", parts) + "]";
    }

    /// <inheritdoc />
    public IEnumerator<long> GetEnumerator() => ((IEnumerable<long>)(_dims ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
