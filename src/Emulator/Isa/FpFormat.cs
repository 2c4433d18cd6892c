// Binary floating-point formats used by the PTX ISA (f64, f32, f16, bf16, e4m3, e5m2, and the
// 1.11.20 upper word the .f64 "approx.ftz" instructions work on), with exact decoding and one
// correctly rounded encoder that every conversion and arithmetic helper in Isa/ goes through.
// ISA sections relied on: "Floating Point Data Types" / "Alternate Floating Point Data Formats"
// (e4m3: no infinity, S.1111.111 is the only NaN, max 448; e5m2: IEEE-like, max 57344) and the
// rounding modifiers of "cvt" (.rn ties-to-even, .rz, .rm, .rp).
using System.Numerics;

namespace Zoetrope.Emulator.Isa;

/// <summary>IEEE rounding directions (PTX .rn, .rz, .rm, .rp).</summary>
internal enum FpRounding : byte
{
    NearestEven,
    TowardZero,
    Down,
    Up,
}

internal enum FpClass : byte
{
    Zero,
    Subnormal,
    Normal,
    Infinite,
    NaN,
}

/// <summary>
/// A binary floating-point format: sign, <see cref="ExpBits"/> exponent bits, <see cref="MantBits"/>
/// stored fraction bits. Values are bit patterns in the low <see cref="Width"/> bits of a ulong.
/// </summary>
internal sealed class FpFormat
{
    public static readonly FpFormat F64 = new("f64", 11, 52, hasInfinity: true, canonicalNaN: 0x7FFF_FFFF_FFFF_FFFFUL);
    // NVIDIA's canonical NaNs are all-ones payloads: f32 0x7FFFFFFF, f16 0x7FFF, bf16 0x7FFF.
    public static readonly FpFormat F32 = new("f32", 8, 23, hasInfinity: true, canonicalNaN: 0x7FFF_FFFFUL);
    public static readonly FpFormat F16 = new("f16", 5, 10, hasInfinity: true, canonicalNaN: 0x7FFFUL);
    public static readonly FpFormat BF16 = new("bf16", 8, 7, hasInfinity: true, canonicalNaN: 0x7FFFUL);
    // OCP FP8: e4m3 has no infinity and a single NaN mantissa (S.1111.111); e5m2 is IEEE-like.
    public static readonly FpFormat E4M3 = new("e4m3", 4, 3, hasInfinity: false, canonicalNaN: 0x7FUL);
    public static readonly FpFormat E5M2 = new("e5m2", 5, 2, hasInfinity: true, canonicalNaN: 0x7FUL);
    // The upper 32 bits of an f64 (1.11.20) that rcp/rsqrt.approx.ftz.f64 read and write; its
    // canonical NaN is the ISA's 0x7fffffff00000000 seen from the upper word.
    public static readonly FpFormat F64Hi = new("f64hi", 11, 20, hasInfinity: true, canonicalNaN: 0x7FFF_FFFFUL);

    private FpFormat(string name, int expBits, int mantBits, bool hasInfinity, ulong canonicalNaN)
    {
        Name = name;
        ExpBits = expBits;
        MantBits = mantBits;
        Width = 1 + expBits + mantBits;
        Bias = (1 << (expBits - 1)) - 1;
        HasInfinity = hasInfinity;
        CanonicalNaN = canonicalNaN;
        ulong topField = (1UL << expBits) - 1;
        ulong mantMask = (1UL << mantBits) - 1;
        Infinity = hasInfinity ? topField << mantBits : canonicalNaN;
        // IEEE-like: the largest field below all-ones with a full fraction. e4m3: the top field is
        // finite too, except for the all-ones fraction, which is the NaN.
        MaxFinite = hasInfinity ? ((topField - 1) << mantBits) | mantMask : (topField << mantBits) | (mantMask - 1);
    }

    public string Name { get; }
    public int ExpBits { get; }
    public int MantBits { get; }
    public int Width { get; }
    public int Bias { get; }
    public bool HasInfinity { get; }
    public ulong CanonicalNaN { get; }
    /// <summary>Positive infinity; for a format without one, its NaN.</summary>
    public ulong Infinity { get; }
    public ulong MaxFinite { get; }
    public ulong SignMask => 1UL << (Width - 1);
    public ulong Mask => Width == 64 ? ulong.MaxValue : (1UL << Width) - 1;
    private ulong MantMask => (1UL << MantBits) - 1;
    private int ExpField(ulong bits) => (int)((bits >> MantBits) & ((1UL << ExpBits) - 1));

    public override string ToString() => Name;

    public bool IsNegative(ulong bits) => (bits & SignMask) != 0;

    public FpClass Classify(ulong bits)
    {
        bits &= Mask;
        int field = ExpField(bits);
        ulong mant = bits & MantMask;
        int top = (1 << ExpBits) - 1;
        if (field == top)
        {
            if (HasInfinity)
            {
                return mant == 0 ? FpClass.Infinite : FpClass.NaN;
            }
            if (mant == MantMask)
            {
                return FpClass.NaN;
            }
        }
        if (field == 0)
        {
            return mant == 0 ? FpClass.Zero : FpClass.Subnormal;
        }
        return FpClass.Normal;
    }

    public bool IsNaN(ulong bits) => Classify(bits) == FpClass.NaN;

    /// <summary>.ftz: a subnormal becomes a zero of the same sign; anything else is unchanged.</summary>
    public ulong FlushSubnormal(ulong bits) =>
        Classify(bits) == FpClass.Subnormal ? bits & SignMask : bits & Mask;

    public ulong Zero(bool negative) => negative ? SignMask : 0;

    /// <summary>
    /// A finite nonzero value as magnitude * 2^exponent (exact); false for zero, infinity, NaN.
    /// </summary>
    public bool TryDecode(ulong bits, out bool negative, out ulong magnitude, out int exponent)
    {
        negative = IsNegative(bits);
        FpClass cls = Classify(bits);
        int field = ExpField(bits & Mask);
        ulong mant = bits & MantMask;
        switch (cls)
        {
            case FpClass.Normal:
                magnitude = (1UL << MantBits) | mant;
                exponent = field - Bias - MantBits;
                return true;
            case FpClass.Subnormal:
                magnitude = mant;
                exponent = 1 - Bias - MantBits;
                return true;
            default:
                magnitude = 0;
                exponent = 0;
                return false;
        }
    }

    /// <summary>The exact value as a double (every format here is a subset of f64).</summary>
    public double ToDouble(ulong bits)
    {
        bool neg = IsNegative(bits);
        switch (Classify(bits))
        {
            case FpClass.Zero:
                return neg ? -0.0 : 0.0;
            case FpClass.Infinite:
                return neg ? double.NegativeInfinity : double.PositiveInfinity;
            case FpClass.NaN:
                return double.NaN;
        }
        if (this == F64)
        {
            return BitConverter.UInt64BitsToDouble(bits);
        }
        TryDecode(bits, out _, out ulong mag, out int exp);
        // mag has at most 24 bits and exp is well inside the f64 range, so ScaleB is exact.
        double v = Math.ScaleB((double)mag, exp);
        return neg ? -v : v;
    }

    /// <summary>
    /// Rounds the exact value (-1)^negative * magnitude * 2^exponent to this format, once, in the
    /// given direction. Overflow gives infinity or the largest finite value as IEEE prescribes for
    /// the direction; with <paramref name="satFinite"/> it always gives the largest finite value.
    /// A format without infinity (e4m3) returns its NaN on a non-saturating overflow.
    /// </summary>
    public ulong Round(bool negative, ulong magnitude, int exponent, FpRounding mode, bool satFinite = false)
    {
        ulong sign = negative ? SignMask : 0;
        if (magnitude == 0)
        {
            return sign;
        }
        int msb = 63 - BitOperations.LeadingZeroCount(magnitude);
        int e = msb + exponent;                 // value lies in [2^e, 2^(e+1))
        int eMin = 1 - Bias;
        int quantum = Math.Max(e, eMin) - MantBits;  // weight of the last kept bit
        int shift = quantum - exponent;
        ulong r;
        if (shift <= 0)
        {
            r = magnitude << -shift;            // exact: at most MantBits+1 bits by construction
        }
        else
        {
            ulong rem;
            bool aboveHalf, atHalf;
            if (shift > 64)
            {
                r = 0;
                rem = magnitude;
                aboveHalf = false;
                atHalf = false;
            }
            else if (shift == 64)
            {
                r = 0;
                rem = magnitude;
                aboveHalf = magnitude > (1UL << 63);
                atHalf = magnitude == (1UL << 63);
            }
            else
            {
                r = magnitude >> shift;
                rem = magnitude & ((1UL << shift) - 1);
                ulong half = 1UL << (shift - 1);
                aboveHalf = rem > half;
                atHalf = rem == half;
            }
            bool up = mode switch
            {
                FpRounding.NearestEven => aboveHalf || (atHalf && (r & 1) != 0),
                FpRounding.TowardZero => false,
                FpRounding.Down => negative && rem != 0,
                _ => !negative && rem != 0,
            };
            if (up)
            {
                r++;
            }
        }
        if ((r >> (MantBits + 1)) != 0)
        {
            // Rounding carried into a new binade: r == 2^(MantBits+1), so halving is exact.
            r >>= 1;
            quantum++;
        }
        if (r == 0)
        {
            return sign;
        }
        if (r < (1UL << MantBits))
        {
            return sign | r;                    // subnormal (quantum is eMin - MantBits here)
        }
        long field = (long)quantum + MantBits + Bias;
        ulong mant = r & MantMask;
        int top = (1 << ExpBits) - 1;
        bool overflow = HasInfinity ? field >= top : field > top || (field == top && mant == MantMask);
        if (overflow)
        {
            return sign | OverflowResult(negative, mode, satFinite);
        }
        return sign | ((ulong)field << MantBits) | mant;
    }

    private ulong OverflowResult(bool negative, FpRounding mode, bool satFinite)
    {
        if (satFinite)
        {
            return MaxFinite;
        }
        bool toInfinity = mode switch
        {
            FpRounding.NearestEven => true,
            FpRounding.TowardZero => false,
            FpRounding.Down => negative,
            _ => !negative,
        };
        return toInfinity ? Infinity : MaxFinite;
    }

    /// <summary>
    /// Rounds a double to this format once. NaN gives the canonical NaN; infinity gives infinity,
    /// or the largest finite value with <paramref name="satFinite"/> (or for e4m3, which has none).
    /// </summary>
    public ulong FromDouble(double value, FpRounding mode = FpRounding.NearestEven, bool satFinite = false)
    {
        if (double.IsNaN(value))
        {
            return CanonicalNaN;
        }
        bool neg = double.IsNegative(value);
        ulong sign = neg ? SignMask : 0;
        if (double.IsInfinity(value))
        {
            return sign | (satFinite || !HasInfinity ? MaxFinite : Infinity);
        }
        if (this == F64)
        {
            return BitConverter.DoubleToUInt64Bits(value);
        }
        F64.TryDecode(BitConverter.DoubleToUInt64Bits(value), out _, out ulong mag, out int exp);
        return Round(neg, mag, exp, mode, satFinite);
    }

    /// <summary>
    /// Rounds once the exact value x whose nearest double is <paramref name="nearest"/> and for which
    /// <paramref name="direction"/> = sign(x - nearest) (-1, 0, +1; e.g. from an exact residual or a
    /// TwoSum error term). Because x lies within half a double ulp of <paramref name="nearest"/>,
    /// replacing it by nearest ± a quarter ulp preserves every rounding decision for any format with
    /// far fewer than 53 bits, which removes the double-rounding error of rounding nearest itself.
    /// </summary>
    public ulong RoundNudged(double nearest, int direction, FpRounding mode, bool satFinite = false)
    {
        if (MantBits > 48)
        {
            throw new InvalidOperationException($"RoundNudged needs a format much narrower than f64, not {Name}.");
        }
        if (direction == 0 || nearest == 0 || !double.IsFinite(nearest))
        {
            return FromDouble(nearest, mode, satFinite);
        }
        F64.TryDecode(BitConverter.DoubleToUInt64Bits(nearest), out bool neg, out ulong mag, out int exp);
        int magnitudeDirection = neg ? -direction : direction;
        ulong nudged = magnitudeDirection > 0 ? (mag << 2) + 1 : (mag << 2) - 1;
        return Round(neg, nudged, exp - 2, mode, satFinite);
    }
}
