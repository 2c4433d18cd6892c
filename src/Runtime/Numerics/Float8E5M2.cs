namespace Zoetrope.Runtime;

/// <summary>
/// OCP FP8 E5M2 as an 8-bit pattern: bias 15, IEEE-style infinities (S.11111.00) and NaNs,
/// largest finite 57344. Conversions round to nearest even; overflow goes to infinity unless
/// <c>saturate</c> is set (then +-57344, NVIDIA's <c>satfinite</c>); NaN becomes 0x7F.
/// </summary>
public readonly record struct Float8E5M2(byte Bits)
{
    /// <summary>Largest finite value.</summary>
    public const float MaxValue = 57344f;

    /// <summary>Converts with round-to-nearest-even; overflow to +-Inf unless <paramref name="saturate"/>.</summary>
    public static Float8E5M2 FromDouble(double value, bool saturate = false) =>
        new((byte)MiniFloat.E5M2.Encode(value, saturate));

    /// <summary>The exact value as binary32.</summary>
    public float ToSingle() => (float)MiniFloat.E5M2.Decode(Bits);

    /// <summary>True for NaN codes (exponent all ones, mantissa non-zero).</summary>
    public bool IsNaN => (Bits & 0x7C) == 0x7C && (Bits & 0x03) != 0;

    /// <inheritdoc />
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
