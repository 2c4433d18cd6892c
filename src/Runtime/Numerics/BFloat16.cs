namespace Zoetrope.Runtime;

/// <summary>
/// bfloat16 as a 16-bit pattern (the upper half of a binary32). Conversions round to nearest
/// even; NaN stays NaN (quiet, sign kept).
/// </summary>
public readonly record struct BFloat16(ushort Bits)
{
    /// <summary>Rounds a binary32 to bfloat16 (round to nearest even on the dropped 16 bits).</summary>
    public static BFloat16 FromSingle(float value)
    {
        uint b = BitConverter.SingleToUInt32Bits(value);
        if ((b & 0x7FFF_FFFF) > 0x7F80_0000)
        {
            return new BFloat16((ushort)((b >> 16) | 0x0040));
        }
        b += 0x7FFF + ((b >> 16) & 1);
        return new BFloat16((ushort)(b >> 16));
    }

    /// <summary>Rounds a binary64 to bfloat16 directly (no double rounding through binary32).</summary>
    public static BFloat16 FromDouble(double value) =>
        double.IsNaN(value)
            ? FromSingle((float)value)
            : new BFloat16((ushort)MiniFloat.BF16.Encode(value, saturate: false));

    /// <summary>The exact binary32 value.</summary>
    public float ToSingle() => BitConverter.UInt32BitsToSingle((uint)Bits << 16);

    /// <inheritdoc />
    public override string ToString() => ToSingle().ToString(System.Globalization.CultureInfo.InvariantCulture);
}
