namespace Zoetrope.Emulator.Exec;

/// <summary>The four IEEE rounding directions PTX names (.rn .rz .rm .rp).</summary>
internal enum Rounding : byte
{
    Nearest,
    Zero,
    Down,
    Up,
}

/// <summary>
/// Exactly rounded f32 arithmetic in every rounding direction, for add/sub/mul/fma with .rn .rz
/// .rm .rp (nvcc's expf uses <c>fma.rm.f32</c>). The exact result is carried as an unevaluated
/// double pair (a product of two f32 is exact in a double; a sum is made exact by TwoSum), and
/// rounded to f32 once: the low part only matters when the high part sits exactly on an f32
/// value or an f32 midpoint, because it is smaller than half a double ulp of the high part.
/// </summary>
internal static class Fp32
{
    public const uint CanonicalNaN = 0x7FFF_FFFF;

    public static Rounding ParseRounding(string[] parts)
    {
        foreach (var p in parts)
        {
            switch (p)
            {
                case "rz" or "rzi": return Rounding.Zero;
                case "rm" or "rmi": return Rounding.Down;
                case "rp" or "rpi": return Rounding.Up;
            }
        }
        return Rounding.Nearest;
    }

    public static float Ftz(float x) => float.IsSubnormal(x) ? (BitConverter.SingleToUInt32Bits(x) >> 31 != 0 ? -0f : 0f) : x;

    public static float Add(float a, float b, Rounding r)
    {
        double hi = TwoSum(a, b, out double lo);
        return hi == 0 ? ExactZero(a, b, r) : RoundPair(hi, lo, r);
    }

    public static float Mul(float a, float b, Rounding r) => Round((double)a * b, r);

    public static float Fma(float a, float b, float c, Rounding r)
    {
        double p = (double)a * b; // exact: 24 + 24 bits
        double hi = TwoSum(p, c, out double lo);
        if (double.IsInfinity(p) || double.IsNaN(p))
        {
            return (float)(p + c);
        }
        return hi == 0 ? ExactZero(p, c, r) : RoundPair(hi, lo, r);
    }

    /// <summary>
    /// The sign of an exact zero sum x + y (IEEE 754 6.3): x's when x and y are zeros of one sign;
    /// otherwise -0 when rounding toward -inf (.rm) and +0 in the other directions. The host's
    /// round-to-nearest addition gets the first case right and always answers +0 to the second.
    /// </summary>
    private static float ExactZero(double x, double y, Rounding r) =>
        x == 0 && y == 0 && double.IsNegative(x) == double.IsNegative(y) ? (float)x : r == Rounding.Down ? -0f : 0f;

    /// <summary>hi = fl(a + b), lo = (a + b) - hi exactly (Knuth's TwoSum).</summary>
    private static double TwoSum(double a, double b, out double lo)
    {
        double s = a + b;
        if (double.IsInfinity(s) || double.IsNaN(s))
        {
            lo = 0;
            return s;
        }
        double bb = s - a;
        lo = (a - (s - bb)) + (b - bb);
        return s;
    }

    /// <summary>Rounds the exact value hi + lo (|lo| at most half a double ulp of hi) to f32.</summary>
    public static float RoundPair(double hi, double lo, Rounding r)
    {
        if (lo == 0 || double.IsNaN(hi) || double.IsInfinity(hi))
        {
            return Round(hi, r);
        }
        float f = (float)hi;
        if ((double)f == hi)
        {
            // hi is an f32: the tail decides for the directed modes.
            return r switch
            {
                Rounding.Down when lo < 0 => MathF.BitDecrement(f),
                Rounding.Up when lo > 0 => MathF.BitIncrement(f),
                Rounding.Zero when (lo < 0) != (hi < 0) && hi != 0 => hi > 0 ? MathF.BitDecrement(f) : MathF.BitIncrement(f),
                Rounding.Zero when hi == 0 => 0f,
                _ => f,
            };
        }
        if (r == Rounding.Nearest)
        {
            // A tie in hi alone is broken by the tail's sign. The midpoint is measured from the f32
            // below |hi| with that binade's quantum, so the midpoint between MaxValue and 2^128 (where
            // (float)hi is already infinity) is found too: a tail below it rounds to MaxValue.
            float t = Round(hi, Rounding.Zero);
            int exponent = t == 0 ? -126 : Math.Max(MathF.ILogB(t), -126);
            double half = Math.ScaleB(1.0, exponent - 24);
            if (Math.Abs(hi) == Math.Abs((double)t) + half)
            {
                bool away = (lo > 0) == (hi > 0);
                return !away ? t : hi > 0 ? MathF.BitIncrement(t) : MathF.BitDecrement(t);
            }
            return f;
        }
        return Round(hi, r);
    }

    /// <summary>Rounds a double to f32 in direction <paramref name="r"/>.</summary>
    public static float Round(double x, Rounding r)
    {
        float f = (float)x;
        if (r == Rounding.Nearest || double.IsNaN(x) || (double)f == x)
        {
            return f;
        }
        return r switch
        {
            Rounding.Zero => Math.Abs((double)f) > Math.Abs(x) ? (x > 0 ? MathF.BitDecrement(f) : MathF.BitIncrement(f)) : f,
            Rounding.Down => f > x ? MathF.BitDecrement(f) : f,
            Rounding.Up => f < x ? MathF.BitIncrement(f) : f,
            _ => f,
        };
    }

    /// <summary>PTX min/max.f32: a NaN operand yields the other; two NaNs the canonical NaN; -0 is below +0.</summary>
    public static float MinMax(float a, float b, bool max, bool propagateNaN)
    {
        if (float.IsNaN(a) || float.IsNaN(b))
        {
            if (propagateNaN || (float.IsNaN(a) && float.IsNaN(b)))
            {
                return BitConverter.UInt32BitsToSingle(CanonicalNaN);
            }
            return float.IsNaN(a) ? b : a;
        }
        if (a == b)
        {
            // Only the zeros' signs can differ.
            bool aNeg = float.IsNegative(a);
            return max ? (aNeg ? b : a) : (aNeg ? a : b);
        }
        return max ? Math.Max(a, b) : Math.Min(a, b);
    }

    public static uint Bits(float f) => float.IsNaN(f) ? CanonicalNaN : BitConverter.SingleToUInt32Bits(f);
}
