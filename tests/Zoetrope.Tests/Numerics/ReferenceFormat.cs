// An independent model of a narrow binary float format, for testing MiniFloat and its wrappers.
//
// Decoding is the textbook formula, built without MiniFloat and without Math.Pow/ScaleB:
//   normal    (-1)^s * 2^(e - bias) * (1 + m / 2^M)
//   subnormal (-1)^s * 2^(1 - bias) * (m / 2^M)
//   specials  IEEE formats: e all ones -> Inf (m == 0) or NaN; E4M3 "fn": only S.1111.111 is NaN.
// Powers of two are made from their double bit pattern, so every value is exact.
//
// Encoding (the oracle) knows no rounding arithmetic at all: it binary-searches the sorted table
// of every finite non-negative value, plus one sentinel just above the largest finite value (the
// value the next code would have with an unbounded exponent: 2^(emax+1) for IEEE formats, 480
// for E4M3), and picks the nearer neighbour by comparing with their exact midpoint; a tie goes to
// the code whose last mantissa bit is 0. Landing on the sentinel means overflow, which the
// format's rule then maps: saturate -> +-max, else +-Inf, else (E4M3) the NaN 0x7F with the sign
// ORed in, as NVIDIA's __nv_cvt_float_to_fp8 does. That is exactly "round to nearest even in an
// unbounded exponent range, then overflow", and it reproduces NVIDIA's thresholds (E4M3: 464
// rounds to 448, above 464 overflows; E5M2: 61440 overflows).
namespace Zoetrope.Tests.Numerics;

/// <summary>A narrow float format defined from its field widths, with a table-search encoder.</summary>
internal sealed class ReferenceFormat
{
    public static readonly ReferenceFormat E4M3 = new("e4m3", 4, 3, hasInfinity: false, canonicalNaN: 0x7F);
    public static readonly ReferenceFormat E5M2 = new("e5m2", 5, 2, hasInfinity: true, canonicalNaN: 0x7F);
    public static readonly ReferenceFormat BF16 = new("bf16", 8, 7, hasInfinity: true, canonicalNaN: 0x7FC0);
    public static readonly ReferenceFormat F16 = new("f16", 5, 10, hasInfinity: true, canonicalNaN: 0x7E00);

    // Finite non-negative values ascending, then the overflow sentinel; and their codes.
    private readonly double[] _values;
    private readonly uint[] _codes;

    private ReferenceFormat(string name, int exponentBits, int mantissaBits, bool hasInfinity, uint canonicalNaN)
    {
        Name = name;
        ExponentBits = exponentBits;
        MantissaBits = mantissaBits;
        HasInfinity = hasInfinity;
        CanonicalNaN = canonicalNaN;
        Bias = (1 << (exponentBits - 1)) - 1;
        CodeCount = 1 << (1 + exponentBits + mantissaBits);
        SignBit = 1u << (exponentBits + mantissaBits);
        uint maxField = (1u << exponentBits) - 1;
        InfinityCode = maxField << mantissaBits;
        var values = new List<double>();
        var codes = new List<uint>();
        for (uint code = 0; code < SignBit; code++)
        {
            double v = Decode(code);
            if (double.IsFinite(v))
            {
                values.Add(v);
                codes.Add(code);
            }
        }
        MaxCode = codes[^1];
        // The next code up, read with an unbounded exponent: it is always MaxCode + 1 (the
        // infinity pattern, or E4M3's NaN slot 0x7F = 1.875 * 2^8).
        uint sentinelCode = MaxCode + 1;
        values.Add(Pow2((int)maxField - Bias) * (1 + ((sentinelCode & ((1u << mantissaBits) - 1)) / (double)(1 << mantissaBits))));
        codes.Add(sentinelCode);
        _values = [.. values];
        _codes = [.. codes];
        for (int i = 1; i < _values.Length; i++)
        {
            if (!(_values[i] > _values[i - 1]))
            {
                throw new InvalidOperationException($"{name}: the value table is not ascending at {i}");
            }
        }
    }

    public string Name { get; }

    public int ExponentBits { get; }

    public int MantissaBits { get; }

    public bool HasInfinity { get; }

    public uint CanonicalNaN { get; }

    public int Bias { get; }

    public int CodeCount { get; }

    public uint SignBit { get; }

    /// <summary>The +Inf pattern for IEEE formats (meaningless for E4M3).</summary>
    public uint InfinityCode { get; }

    /// <summary>Code of the largest finite value.</summary>
    public uint MaxCode { get; }

    public double Max => _values[^2];

    /// <summary>Binade of the smallest subnormal: 2^(1 - bias - M).</summary>
    public int MinSubnormalExponent => 1 - Bias - MantissaBits;

    /// <summary>Binade of the largest finite value.</summary>
    public int MaxExponent => (HasInfinity ? (1 << ExponentBits) - 2 : (1 << ExponentBits) - 1) - Bias;

    /// <summary>Every finite non-negative value ascending, then the overflow sentinel.</summary>
    public IReadOnlyList<double> ValuesWithSentinel => _values;

    /// <summary>2^n, exactly, for n in the normal double range, from its bit pattern.</summary>
    public static double Pow2(int n)
    {
        if (n is < -1022 or > 1023)
        {
            throw new ArgumentOutOfRangeException(nameof(n));
        }
        return BitConverter.Int64BitsToDouble((long)(n + 1023) << 52);
    }

    /// <summary>The formula value of <paramref name="code"/>; NaN codes give a NaN with the code's sign.</summary>
    public double Decode(uint code)
    {
        bool negative = (code & SignBit) != 0;
        int e = (int)((code >> MantissaBits) & ((1u << ExponentBits) - 1));
        int m = (int)(code & ((1u << MantissaBits) - 1));
        int maxField = (1 << ExponentBits) - 1;
        double magnitude;
        if (IsNaNCode(code))
        {
            return BitConverter.Int64BitsToDouble(negative ? unchecked((long)0xFFF8_0000_0000_0000UL) : 0x7FF8_0000_0000_0000L);
        }
        if (HasInfinity && e == maxField)
        {
            magnitude = double.PositiveInfinity;
        }
        else if (e == 0)
        {
            magnitude = Pow2(1 - Bias) * (m / (double)(1 << MantissaBits));
        }
        else
        {
            magnitude = Pow2(e - Bias) * (1 + (m / (double)(1 << MantissaBits)));
        }
        return negative ? -magnitude : magnitude;
    }

    public bool IsNaNCode(uint code)
    {
        uint e = (code >> MantissaBits) & ((1u << ExponentBits) - 1);
        uint m = code & ((1u << MantissaBits) - 1);
        uint maxField = (1u << ExponentBits) - 1;
        return HasInfinity ? e == maxField && m != 0 : e == maxField && m == (1u << MantissaBits) - 1;
    }

    /// <summary>The code nearest to <paramref name="x"/> (ties to even), then the overflow rule.</summary>
    public uint Encode(double x, bool saturate)
    {
        if (double.IsNaN(x))
        {
            return CanonicalNaN;
        }
        uint sign = double.IsNegative(x) ? SignBit : 0;
        double a = Math.Abs(x);
        uint code;
        if (a >= _values[^1])
        {
            code = _codes[^1];
        }
        else
        {
            int i = Array.BinarySearch(_values, a);
            if (i >= 0)
            {
                code = _codes[i];
            }
            else
            {
                int hi = ~i;
                int lo = hi - 1;
                // Two narrow values have an exact double midpoint (a few more bits than the format).
                double mid = (_values[lo] + _values[hi]) / 2;
                code = a < mid ? _codes[lo] : a > mid ? _codes[hi] : (_codes[lo] & 1) == 0 ? _codes[lo] : _codes[hi];
            }
        }
        if (code != _codes[^1])
        {
            return sign | code;
        }
        return sign | (saturate ? MaxCode : HasInfinity ? InfinityCode : CanonicalNaN);
    }

    public override string ToString() => Name;
}
