// Half-precision arithmetic: add, sub, mul, fma, min, max, neg, abs on .f16/.bf16 scalars (HalfOps)
// and on .f16x2/.bf16x2 pairs (Half2; element 0 in bits 0..15, element 1 in bits 16..31).
// ISA sections: "Half Precision Floating Point Instructions: add / sub / mul / fma / neg / abs / min /
// max" (.rn is the only rounding and the default; .ftz and .sat exist for .f16 only and flush
// subnormal inputs and results / clamp to [0,1] with NaN -> +0; fma has .relu for both, NaN ->
// canonical NaN; min/max have .NaN and .xorsign.abs, treat -0 < +0, and return the non-NaN operand).
// "Half-precision instructions return an unspecified NaN": we return the canonical 0x7FFF.
//
// Rounding: every result is the exact value rounded once. Products of two f16 (11x11 bits) or
// bf16 (8x8 bits) are exact in double. A sum in double is NOT always exact (a bf16 sum can span
// ~260 bits), and rounding it to double first is not always harmless for fma: with p = a*b a bf16
// midpoint and |c| tiny, RN53(p + c) == p and the tie then breaks to even, where the exact sum
// breaks away from it (a test pins such a case). f16 cannot hit it (c >= 2^-24 forces p >= 2^29,
// which overflows f16), but we don't rely on that: sums go through TwoSum, whose error term gives
// the side of the double the exact value lies on, and FpFormat.RoundNudged rounds once.
namespace Zoetrope.Emulator.Isa;

[Flags]
internal enum HalfMods : byte
{
    None = 0,
    /// <summary>.ftz (f16 only): flush subnormal inputs and results to sign-preserving zero.</summary>
    Ftz = 1,
    /// <summary>.sat (f16 add/sub/mul/fma): clamp to [0,1], NaN -> +0.</summary>
    Sat = 2,
    /// <summary>.relu (fma): negative results -> +0, NaN -> canonical NaN.</summary>
    Relu = 4,
    /// <summary>.NaN (min/max): any NaN input gives the canonical NaN.</summary>
    NaN = 8,
    /// <summary>.xorsign.abs (min/max): compare magnitudes, result sign = sign(a) ^ sign(b).</summary>
    XorSignAbs = 16,
}

/// <summary>Scalar .f16 / .bf16 arithmetic on 16-bit patterns.</summary>
internal static class HalfOps
{
    internal static FpFormat Format(bool bf16) => bf16 ? FpFormat.BF16 : FpFormat.F16;

    internal static ushort Add(ushort a, ushort b, bool bf16, HalfMods mods = HalfMods.None) =>
        Sum(a, b, c: null, negateB: false, bf16, mods);

    internal static ushort Sub(ushort a, ushort b, bool bf16, HalfMods mods = HalfMods.None) =>
        Sum(a, b, c: null, negateB: true, bf16, mods);

    internal static ushort Mul(ushort a, ushort b, bool bf16, HalfMods mods = HalfMods.None)
    {
        FpFormat f = Format(bf16);
        (double x, double y) = (In(f, a, mods), In(f, b, mods));
        return Out(f, f.FromDouble(x * y), mods);   // exact product, rounded once
    }

    internal static ushort Fma(ushort a, ushort b, ushort c, bool bf16, HalfMods mods = HalfMods.None) =>
        Sum(a, b, c, negateB: false, bf16, mods);

    // add/sub (c == null): a ± b. fma: a * b + c. The double operands of the final sum are exact.
    private static ushort Sum(ushort a, ushort b, ushort? c, bool negateB, bool bf16, HalfMods mods)
    {
        FpFormat f = Format(bf16);
        double x, y;
        if (c is ushort cv)
        {
            x = In(f, a, mods) * In(f, b, mods);
            y = In(f, cv, mods);
        }
        else
        {
            x = In(f, a, mods);
            y = In(f, b, mods);
            y = negateB ? -y : y;
        }
        double s = x + y;
        ulong r;
        if (double.IsFinite(s))
        {
            // TwoSum (Knuth): err = (x + y) - s exactly; no overflow is possible at these magnitudes.
            double bb = s - x;
            double err = (x - (s - bb)) + (y - bb);
            r = f.RoundNudged(s, Math.Sign(err), FpRounding.NearestEven);
        }
        else
        {
            r = f.FromDouble(s);
        }
        return Out(f, r, mods);
    }

    internal static ushort Neg(ushort a, bool bf16, HalfMods mods = HalfMods.None)
    {
        // The ISA leaves a NaN's result unspecified; we flip the sign bit like any other value,
        // which is what it says future implementations will do.
        FpFormat f = Format(bf16);
        ulong x = Flush(f, a, mods);
        return (ushort)Flush(f, x ^ f.SignMask, mods);
    }

    internal static ushort Abs(ushort a, bool bf16, HalfMods mods = HalfMods.None)
    {
        FpFormat f = Format(bf16);
        ulong x = Flush(f, a, mods);
        return (ushort)Flush(f, x & ~f.SignMask, mods);
    }

    internal static ushort Min(ushort a, ushort b, bool bf16, HalfMods mods = HalfMods.None) =>
        MinMax(a, b, bf16, mods, max: false);

    internal static ushort Max(ushort a, ushort b, bool bf16, HalfMods mods = HalfMods.None) =>
        MinMax(a, b, bf16, mods, max: true);

    // The ISA's min/max Semantics, line by line.
    private static ushort MinMax(ushort a, ushort b, bool bf16, HalfMods mods, bool max)
    {
        FpFormat f = Format(bf16);
        ulong x = Flush(f, a, mods), y = Flush(f, b, mods);
        bool xorSign = false;
        if ((mods & HalfMods.XorSignAbs) != 0)
        {
            xorSign = f.IsNegative(x) ^ f.IsNegative(y);
            x &= ~f.SignMask;
            y &= ~f.SignMask;
        }
        bool xNaN = f.IsNaN(x), yNaN = f.IsNaN(y);
        ulong d;
        if ((xNaN && yNaN) || ((mods & HalfMods.NaN) != 0 && (xNaN || yNaN)))
        {
            return (ushort)f.CanonicalNaN;
        }
        else if (xNaN)
        {
            d = y;
        }
        else if (yNaN)
        {
            d = x;
        }
        else
        {
            // -0.0 < +0.0 here, so compare with the sign of zero taken into account.
            int cmp = CompareWithSignedZero(f.ToDouble(x), f.ToDouble(y));
            d = max ? (cmp > 0 ? x : y) : (cmp < 0 ? x : y);
        }
        if ((mods & HalfMods.XorSignAbs) != 0)
        {
            d = (d & ~f.SignMask) | (xorSign ? f.SignMask : 0);
        }
        return (ushort)Flush(f, d, mods);
    }

    internal static int CompareWithSignedZero(double x, double y)
    {
        if (x == 0 && y == 0)
        {
            return (double.IsNegative(y) ? 1 : 0) - (double.IsNegative(x) ? 1 : 0);
        }
        return x.CompareTo(y);
    }

    private static ulong Flush(FpFormat f, ulong bits, HalfMods mods) =>
        (mods & HalfMods.Ftz) != 0 ? f.FlushSubnormal(bits) : bits & f.Mask;

    private static double In(FpFormat f, ushort bits, HalfMods mods) => f.ToDouble(Flush(f, bits, mods));

    private static ushort Out(FpFormat f, ulong r, HalfMods mods)
    {
        bool nan = f.IsNaN(r);
        if (nan)
        {
            r = f.CanonicalNaN;
        }
        if ((mods & HalfMods.Relu) != 0 && !nan && f.IsNegative(r))
        {
            r = 0;
        }
        if ((mods & HalfMods.Sat) != 0)
        {
            if (nan || f.IsNegative(r))
            {
                r = 0;
            }
            else if (f.ToDouble(r) > 1.0)
            {
                r = f.FromDouble(1.0);
            }
        }
        return (ushort)Flush(f, r, mods);
    }
}

/// <summary>Packed .f16x2 / .bf16x2 arithmetic: the scalar operation on each half.</summary>
internal static class Half2
{
    internal static uint Add(uint a, uint b, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Add(Lo(a), Lo(b), bf16, mods), HalfOps.Add(Hi(a), Hi(b), bf16, mods));

    internal static uint Sub(uint a, uint b, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Sub(Lo(a), Lo(b), bf16, mods), HalfOps.Sub(Hi(a), Hi(b), bf16, mods));

    internal static uint Mul(uint a, uint b, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Mul(Lo(a), Lo(b), bf16, mods), HalfOps.Mul(Hi(a), Hi(b), bf16, mods));

    internal static uint Fma(uint a, uint b, uint c, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Fma(Lo(a), Lo(b), Lo(c), bf16, mods), HalfOps.Fma(Hi(a), Hi(b), Hi(c), bf16, mods));

    internal static uint Min(uint a, uint b, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Min(Lo(a), Lo(b), bf16, mods), HalfOps.Min(Hi(a), Hi(b), bf16, mods));

    internal static uint Max(uint a, uint b, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Max(Lo(a), Lo(b), bf16, mods), HalfOps.Max(Hi(a), Hi(b), bf16, mods));

    internal static uint Neg(uint a, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Neg(Lo(a), bf16, mods), HalfOps.Neg(Hi(a), bf16, mods));

    internal static uint Abs(uint a, bool bf16, HalfMods mods = HalfMods.None) =>
        Pack(HalfOps.Abs(Lo(a), bf16, mods), HalfOps.Abs(Hi(a), bf16, mods));

    internal static ushort Lo(uint v) => (ushort)v;

    internal static ushort Hi(uint v) => (ushort)(v >> 16);

    /// <summary>{lo, hi} as mov.b32 %r, {lo, hi} packs it: element 0 in the low half.</summary>
    internal static uint Pack(ushort lo, ushort hi) => lo | ((uint)hi << 16);
}
