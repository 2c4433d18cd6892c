namespace Zoetrope.Runtime;

/// <summary>
/// A binary floating-point format narrower than binary64, described by its field widths, and
/// the one correctly-rounded conversion from <see cref="double"/> that every narrow type here
/// (f16, bf16, FP8 E4M3, FP8 E5M2) uses: round to nearest, ties to even, computed exactly in
/// double (every narrow value and every rounding quantum is a power of two times a small
/// integer, so the scaling below never rounds).
/// </summary>
/// <remarks>
/// Overflow: a value whose rounded magnitude exceeds <see cref="MaxFinite"/> becomes
/// +-<see cref="MaxFinite"/> when saturating (NVIDIA's <c>satfinite</c>), otherwise infinity where
/// the format has one, else the NaN code with the input's sign (E4M3: 0x7F or 0xFF, as
/// <c>__nv_cvt_float_to_fp8</c> with <c>__NV_NOSAT</c> gives). Infinity in is treated the same
/// way. NaN in gives the format's canonical (positive) NaN, <see cref="CanonicalNaN"/>.
/// Decoding a NaN code gives a quiet double NaN with the code's sign.
/// </remarks>
internal sealed class MiniFloat
{
    /// <summary>IEEE binary16: 5 exponent, 10 mantissa bits.</summary>
    public static readonly MiniFloat F16 = new(5, 10, ieeeSpecials: true, canonicalNaN: 0x7E00);

    /// <summary>bfloat16: 8 exponent, 7 mantissa bits, IEEE specials.</summary>
    public static readonly MiniFloat BF16 = new(8, 7, ieeeSpecials: true, canonicalNaN: 0x7FC0);

    /// <summary>OCP FP8 E4M3 ("fn"): no infinities; S.1111.111 is NaN; max 448.</summary>
    public static readonly MiniFloat E4M3 = new(4, 3, ieeeSpecials: false, canonicalNaN: 0x7F);

    /// <summary>OCP FP8 E5M2: IEEE specials; max 57344.</summary>
    public static readonly MiniFloat E5M2 = new(5, 2, ieeeSpecials: true, canonicalNaN: 0x7F);

    private readonly double[] _decodeTable;

    private MiniFloat(int exponentBits, int mantissaBits, bool ieeeSpecials, uint canonicalNaN)
    {
        ExponentBits = exponentBits;
        MantissaBits = mantissaBits;
        HasInfinity = ieeeSpecials;
        CanonicalNaN = canonicalNaN;
        Bias = (1 << (exponentBits - 1)) - 1;
        int maxField = (1 << exponentBits) - 1;
        // With IEEE specials the all-ones exponent is reserved; E4M3 uses it for normals except
        // its all-ones mantissa (NaN).
        int maxExp = (ieeeSpecials ? maxField - 1 : maxField) - Bias;
        double maxMantissa = ieeeSpecials
            ? 2.0 - Math.ScaleB(1.0, -mantissaBits)
            : 2.0 - Math.ScaleB(2.0, -mantissaBits);
        MaxFinite = Math.ScaleB(maxMantissa, maxExp);
        MinNormalExponent = 1 - Bias;
        int bits = 1 + exponentBits + mantissaBits;
        _decodeTable = new double[1 << bits];
        for (uint code = 0; code < _decodeTable.Length; code++)
        {
            _decodeTable[code] = DecodeSlow(code);
        }
    }

    /// <summary>Exponent field width.</summary>
    public int ExponentBits { get; }

    /// <summary>Mantissa (fraction) field width.</summary>
    public int MantissaBits { get; }

    /// <summary>Exponent bias.</summary>
    public int Bias { get; }

    /// <summary>True when the format has infinities (IEEE-style all-ones exponent).</summary>
    public bool HasInfinity { get; }

    /// <summary>Largest finite magnitude.</summary>
    public double MaxFinite { get; }

    /// <summary>Unbiased exponent of the smallest normal number.</summary>
    public int MinNormalExponent { get; }

    /// <summary>The code written for NaN.</summary>
    public uint CanonicalNaN { get; }

    private int TotalBits => 1 + ExponentBits + MantissaBits;

    private uint SignBit => 1u << (ExponentBits + MantissaBits);

    /// <summary>The value of <paramref name="code"/> (exact in double).</summary>
    public double Decode(uint code) => _decodeTable[code & ((1u << TotalBits) - 1)];

    /// <summary>True when <paramref name="code"/> is a NaN.</summary>
    public bool IsNaN(uint code) => double.IsNaN(Decode(code));

    /// <summary>Encodes <paramref name="value"/>: round to nearest even, overflow as documented.</summary>
    public uint Encode(double value, bool saturate)
    {
        if (double.IsNaN(value))
        {
            return CanonicalNaN;
        }
        uint sign = double.IsNegative(value) ? SignBit : 0u;
        double a = Math.Abs(value);
        if (double.IsInfinity(a))
        {
            return Overflow(sign, saturate);
        }
        if (a == 0)
        {
            return sign;
        }
        // The rounding quantum: one unit in the last place at a's binade, or the subnormal
        // spacing below the smallest normal.
        int e = Math.Max(Math.ILogB(a), MinNormalExponent);
        double quantum = Math.ScaleB(1.0, e - MantissaBits);
        double r = Math.Round(a / quantum, MidpointRounding.ToEven) * quantum;
        if (r > MaxFinite)
        {
            return Overflow(sign, saturate);
        }
        if (r == 0)
        {
            return sign;
        }
        int re = Math.ILogB(r);
        if (re < MinNormalExponent)
        {
            uint sub = (uint)(r / Math.ScaleB(1.0, MinNormalExponent - MantissaBits));
            return sign | sub;
        }
        uint mant = (uint)(r / Math.ScaleB(1.0, re - MantissaBits)) - (1u << MantissaBits);
        uint exp = (uint)(re + Bias);
        return sign | (exp << MantissaBits) | mant;
    }

    // Saturation keeps the sign; infinity keeps it; a format without infinities overflows to its
    // NaN code with the sign kept: NVIDIA's reference conversion (__nv_cvt_double_to_fp8, which
    // __nv_cvt_float_to_fp8 calls for __NV_NOSAT) ORs the sign into every result after picking
    // 0x7F for an E4M3 overflow, so -500 gives 0xFF. Only a NaN input loses its sign (the float
    // entry point canonicalises it to +NaN first); that is Encode's first branch.
    private uint Overflow(uint sign, bool saturate)
    {
        if (saturate)
        {
            return sign | Encode(MaxFinite, saturate: false);
        }
        return sign | (HasInfinity ? ((1u << ExponentBits) - 1) << MantissaBits : CanonicalNaN);
    }

    private double DecodeSlow(uint code)
    {
        bool negative = (code & SignBit) != 0;
        uint exp = (code >> MantissaBits) & ((1u << ExponentBits) - 1);
        uint mant = code & ((1u << MantissaBits) - 1);
        uint maxField = (1u << ExponentBits) - 1;
        double v;
        if ((HasInfinity && exp == maxField && mant != 0) ||
            (!HasInfinity && exp == maxField && mant == (1u << MantissaBits) - 1))
        {
            // Built from bits: double.NaN has its sign bit set on .NET, and negating a NaN flips
            // it, so "negative ? -NaN : NaN" would give every NaN code the opposite sign (and a
            // bf16 NaN read and written back through ElementConvert would change sign).
            return BitConverter.Int64BitsToDouble(negative ? unchecked((long)0xFFF8_0000_0000_0000UL) : 0x7FF8_0000_0000_0000L);
        }
        if (HasInfinity && exp == maxField)
        {
            v = double.PositiveInfinity;
        }
        else if (exp == 0)
        {
            v = Math.ScaleB(mant, MinNormalExponent - MantissaBits);
        }
        else
        {
            v = Math.ScaleB((1u << MantissaBits) + mant, (int)exp - Bias - MantissaBits);
        }
        return negative ? -v : v;
    }
}
