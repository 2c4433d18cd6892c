namespace Zoetrope.Runtime.Ops;

/// <summary>
/// How close a backend's output must be to the reference: relative L2 error
/// ||actual - expected|| / ||expected|| at most <see cref="RelL2"/>, and, when
/// <see cref="MaxAbs"/> is positive, no element off by more than it.
/// </summary>
/// <param name="RelL2">Largest relative L2 error.</param>
/// <param name="MaxAbs">Largest absolute error of one element; 0 means not checked.</param>
public sealed record Tolerance(double RelL2, double MaxAbs = 0)
{
    /// <summary>Bit-for-bit equality.</summary>
    public static Tolerance Exact { get; } = new(0, 0);

    /// <summary>True for <see cref="Exact"/>.</summary>
    public bool IsExact => RelL2 == 0 && MaxAbs == 0;

    /// <inheritdoc />
    public override string ToString() =>
        IsExact ? "exact" : MaxAbs > 0 ? $"relL2<={RelL2:g2}, abs<={MaxAbs:g2}" : $"relL2<={RelL2:g2}";
}
