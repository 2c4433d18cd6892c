namespace Zoetrope.Runtime;

/// <summary>
/// OCP FP8 E4M3 ("fn") as an 8-bit pattern: bias 7, no infinities, S.1111.111 is NaN, largest
/// finite 448, smallest subnormal 2^-9. Conversions round to nearest even; by default they
/// saturate (+-Inf and |x| beyond 448 become +-448, as NVIDIA's <c>satfinite</c>); NaN becomes 0x7F.
/// Without saturation, +-Inf and |x| that rounds beyond 448 become the NaN with the input's sign
/// (0x7F or 0xFF), as <c>__nv_cvt_float_to_fp8(x, __NV_NOSAT, __NV_E4M3)</c>.
/// </summary>
public readonly record struct Float8E4M3(byte Bits)
{
    /// <summary>Largest finite value.</summary>
    public const float MaxValue = 448f;

    /// <summary>
    /// Converts with round-to-nearest-even (|x| up to 464, the midpoint to the NaN slot, rounds to
    /// 448). Overflow and +-Inf: +-448 when <paramref name="saturate"/>, otherwise 0x7F or 0xFF
    /// (NaN, sign kept). NaN gives 0x7F in both modes.
    /// </summary>
    public static Float8E4M3 FromDouble(double value, bool saturate = true) =>
        new((byte)MiniFloat.E4M3.Encode(value, saturate));

    /// <summary>The exact value as binary32.</summary>
    public float ToSingle() => (float)MiniFloat.E4M3.Decode(Bits);

    /// <summary>True for the two NaN codes (0x7F, 0xFF).</summary>
    public bool IsNaN => (Bits & 0x7F) == 0x7F;

    /// <inheritdoc />
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
