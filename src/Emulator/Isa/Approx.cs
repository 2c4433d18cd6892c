// Special functions and IEEE divide/reciprocal/square root.
// ISA sections: "Floating Point Instructions: ex2 / lg2 / rcp / rcp.approx.ftz.f64 / sqrt / rsqrt /
// rsqrt.approx.ftz.f64 / sin / cos / tanh / div" and "Half Precision Floating Point Instructions:
// ex2 / tanh". The special-value tables of those sections are reproduced exactly (the tests pin them).
//
// Error model of the .approx functions: the exact function is evaluated in double (.NET Math, within
// about 1 double ulp) and rounded once to the target, so our result is the correctly rounded value
// except when the true value lies within ~2^-52 relative of a target rounding midpoint. The GPU's
// MUFU results are not reproducible bit for bit; per the ISA they are within:
//   ex2.approx.f32      2 ulp of the correctly rounded result (full range)
//   lg2.approx.f32      2^-22 absolute for x in (0.5, 2), 2^-22 relative elsewhere
//   rcp.approx.f32      1 ulp (full range)
//   sqrt.approx.f32     2^-23 relative;   rsqrt.approx.f32  2^-22.9 relative
//   sin/cos.approx.f32  2^-20.5 absolute in [-2pi, 2pi], 2^-14.7 in [-100pi, 100pi], none beyond
//   tanh.approx.f32     2^-11 relative;   tanh.approx.f16 2^-10.987 abs, .bf16 2^-8 abs
//   ex2.approx.f16      2^-9.9 relative,  .bf16 2^-7 relative
//   div.approx.f32      2 ulp for |b| in [2^-126, 2^126];  div.full.f32  2 ulp (full range)
// so comparisons against a GPU must allow that bound plus half an ulp of ours.
// rcp/rsqrt.approx.ftz.f64 are "gross" approximations on 20 fraction bits: we round the exact value
// to 20 bits; the GPU may differ in the last of those bits.
//
// IEEE (.rn/.rz/.rm/.rp) div, rcp, sqrt on f32 are exact: the double quotient/root q is the nearest
// double, the residual a - q*b (or a - q*q) computed with one fma is exact, its sign says on which
// side of q the true value lies, and FpFormat.RoundNudged rounds once in the requested direction.
// (For .rn alone, rounding the double result would also be right: double rounding is innocuous for
// + - * / sqrt when 53 >= 2*24 + 2; the directed modes need the residual.)
namespace Zoetrope.Emulator.Isa;

internal static class Approx
{
    private static readonly FpFormat F32 = FpFormat.F32;

    internal static float F(uint bits) => BitConverter.UInt32BitsToSingle(bits);

    internal static uint Bits(float f) => BitConverter.SingleToUInt32Bits(f);

    // Evaluate fn on the (optionally flushed) f32 input in double and round once to f32.
    private static uint Unary(uint a, bool ftz, Func<double, double> fn)
    {
        if (ftz)
        {
            a = (uint)F32.FlushSubnormal(a);
        }
        if (F32.IsNaN(a))
        {
            return (uint)F32.CanonicalNaN;
        }
        uint r = (uint)F32.FromDouble(fn(F32.ToDouble(a)));
        return ftz ? (uint)F32.FlushSubnormal(r) : r;
    }

    /// <summary>ex2.approx{.ftz}.f32: -Inf -> +0, ±0 -> 1, +Inf -> +Inf.</summary>
    internal static uint Ex2F32(uint a, bool ftz) => Unary(a, ftz, x => Math.Pow(2.0, x));

    /// <summary>lg2.approx{.ftz}.f32: ±0 -> -Inf, negative -> NaN, +Inf -> +Inf.</summary>
    internal static uint Lg2F32(uint a, bool ftz) => Unary(a, ftz, x => x == 0 ? double.NegativeInfinity : Math.Log2(x));

    /// <summary>rcp.approx{.ftz}.f32: ±0 -> ±Inf, ±Inf -> ±0.</summary>
    internal static uint RcpApproxF32(uint a, bool ftz) => Unary(a, ftz, x => 1.0 / x);

    /// <summary>sqrt.approx{.ftz}.f32: -0 -> -0, negative -> NaN.</summary>
    internal static uint SqrtApproxF32(uint a, bool ftz) => Unary(a, ftz, Math.Sqrt);

    /// <summary>rsqrt.approx{.ftz}.f32: -0 -> -Inf, +0 -> +Inf, +Inf -> +0, negative -> NaN.</summary>
    internal static uint RsqrtApproxF32(uint a, bool ftz) => Unary(a, ftz, Rsqrt);

    /// <summary>tanh.approx.f32 (no .ftz: subnormals pass through): ±Inf -> ±1, ±0 -> ±0.</summary>
    internal static uint TanhF32(uint a) => Unary(a, ftz: false, Math.Tanh);

    // 1/(2pi) rounded to f32 (0x3E22F983): the GPU reduces the argument with one f32 multiply by
    // this constant, rounded toward zero, before the MUFU.SIN/COS of the fraction of a turn
    // (the FMUL.RZ + MUFU pair ptxas emits). We model that reduction and evaluate the rest exactly,
    // which reproduces the large-argument behaviour the ISA only bounds.
    private const uint InvTwoPiF32 = 0x3E22F983;

    /// <summary>sin.approx{.ftz}.f32: ±Inf -> NaN, ±0 -> ±0.</summary>
    internal static uint SinF32(uint a, bool ftz) => Unary(a, ftz, x => Math.Sin(Turns(x) * 2 * Math.PI));

    /// <summary>cos.approx{.ftz}.f32: ±Inf -> NaN, ±0 -> +1.</summary>
    internal static uint CosF32(uint a, bool ftz) => Unary(a, ftz, x => Math.Cos(Turns(x) * 2 * Math.PI));

    private static double Turns(double x)
    {
        if (!double.IsFinite(x))
        {
            return double.NaN;
        }
        uint t = (uint)F32.FromDouble(x * F32.ToDouble(InvTwoPiF32), FpRounding.TowardZero);
        return F32.ToDouble(t);
    }

    private static double Rsqrt(double x) => x == 0 ? (double.IsNegative(x) ? double.NegativeInfinity : double.PositiveInfinity) : 1.0 / Math.Sqrt(x);

    /// <summary>
    /// rcp.approx.ftz.f64: per the ISA, the reciprocal of the upper word (1.11.20) placed in the upper
    /// word, low word zero; subnormals flush, NaN -> 0x7fffffff00000000.
    /// </summary>
    internal static ulong RcpApproxFtzF64(ulong a) => UpperWord(a, x => 1.0 / x);

    /// <summary>rsqrt.approx.ftz.f64 on the upper word, as rcp.approx.ftz.f64.</summary>
    internal static ulong RsqrtApproxFtzF64(ulong a) => UpperWord(a, Rsqrt);

    /// <summary>rsqrt.approx.f64 (software on the GPU): 1/sqrt(a) to within an ulp; subnormals kept.</summary>
    internal static ulong RsqrtApproxF64(ulong a)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        return double.IsNaN(x) ? FpFormat.F64.CanonicalNaN : BitConverter.DoubleToUInt64Bits(Rsqrt(x));
    }

    private static ulong UpperWord(ulong a, Func<double, double> fn)
    {
        FpFormat hi = FpFormat.F64Hi;
        ulong w = hi.FlushSubnormal(a >> 32);
        if (hi.IsNaN(w))
        {
            return hi.CanonicalNaN << 32;
        }
        ulong r = hi.FlushSubnormal(hi.FromDouble(fn(hi.ToDouble(w))));
        return (hi.IsNaN(r) ? hi.CanonicalNaN : r) << 32;
    }

    /// <summary>ex2.approx.f16 (subnormals supported) or ex2.approx.ftz.bf16 (flushed).</summary>
    internal static ushort Ex2Half(ushort a, bool bf16) => HalfUnary(a, bf16, ftz: bf16, x => Math.Pow(2.0, x));

    /// <summary>tanh.approx.f16 / .bf16 (subnormals supported).</summary>
    internal static ushort TanhHalf(ushort a, bool bf16) => HalfUnary(a, bf16, ftz: false, Math.Tanh);

    internal static uint Ex2Half2(uint a, bool bf16) =>
        Half2.Pack(Ex2Half(Half2.Lo(a), bf16), Ex2Half(Half2.Hi(a), bf16));

    internal static uint TanhHalf2(uint a, bool bf16) =>
        Half2.Pack(TanhHalf(Half2.Lo(a), bf16), TanhHalf(Half2.Hi(a), bf16));

    private static ushort HalfUnary(ushort a, bool bf16, bool ftz, Func<double, double> fn)
    {
        FpFormat f = HalfOps.Format(bf16);
        ulong x = ftz ? f.FlushSubnormal(a) : a;
        if (f.IsNaN(x))
        {
            return (ushort)f.CanonicalNaN;
        }
        ulong r = f.FromDouble(fn(f.ToDouble(x)));
        return (ushort)(ftz ? f.FlushSubnormal(r) : r);
    }

    /// <summary>div.rnd{.ftz}.f32: IEEE division, correctly rounded in any direction.</summary>
    internal static uint DivF32(uint a, uint b, FpRounding mode, bool ftz)
    {
        if (ftz)
        {
            (a, b) = ((uint)F32.FlushSubnormal(a), (uint)F32.FlushSubnormal(b));
        }
        double x = F32.ToDouble(a), y = F32.ToDouble(b);
        double q = x / y;
        int direction = 0;
        if (double.IsFinite(q) && q != 0)
        {
            // Exact residual (x, y have 24 bits, q has 53: no underflow or overflow here).
            double rem = Math.FusedMultiplyAdd(-q, y, x);
            direction = Math.Sign(rem) * Math.Sign(y);
        }
        return FinishF32(F32.RoundNudged(q, direction, mode), ftz);
    }

    /// <summary>rcp.rnd{.ftz}.f32: 1/a correctly rounded.</summary>
    internal static uint RcpF32(uint a, FpRounding mode, bool ftz) => DivF32(0x3F80_0000, a, mode, ftz);

    /// <summary>sqrt.rnd{.ftz}.f32: correctly rounded; -0 -> -0, negative -> NaN.</summary>
    internal static uint SqrtF32(uint a, FpRounding mode, bool ftz)
    {
        if (ftz)
        {
            a = (uint)F32.FlushSubnormal(a);
        }
        double x = F32.ToDouble(a);
        double s = Math.Sqrt(x);
        int direction = 0;
        if (double.IsFinite(s) && s != 0)
        {
            direction = Math.Sign(Math.FusedMultiplyAdd(-s, s, x));
        }
        return FinishF32(F32.RoundNudged(s, direction, mode), ftz);
    }

    /// <summary>
    /// div.full{.ftz}.f32 modelled as the correctly rounded quotient; the GPU's is within 2 ulp
    /// (ISA), so ours and the GPU's differ by at most 2.5 ulp.
    /// </summary>
    internal static uint DivFullF32(uint a, uint b, bool ftz) => DivF32(a, b, FpRounding.NearestEven, ftz);

    /// <summary>
    /// div.approx{.ftz}.f32 = a * (1/b) as the ISA defines it: the reciprocal is rounded to f32 and
    /// flushed to zero when subnormal (which is why 2^126 &lt; |b| &lt; 2^128 gives a signed zero, or
    /// NaN for an infinite a, as the ISA states), then the product is rounded to f32.
    /// </summary>
    internal static uint DivApproxF32(uint a, uint b, bool ftz)
    {
        if (ftz)
        {
            (a, b) = ((uint)F32.FlushSubnormal(a), (uint)F32.FlushSubnormal(b));
        }
        uint r = (uint)F32.FlushSubnormal(F32.FromDouble(1.0 / F32.ToDouble(b)));
        double p = F32.ToDouble(a) * F32.ToDouble(r);   // exact: 24 x 24 bits
        return FinishF32(F32.FromDouble(p), ftz);
    }

    private static uint FinishF32(ulong r, bool ftz)
    {
        if (F32.IsNaN(r))
        {
            return (uint)F32.CanonicalNaN;
        }
        return (uint)(ftz ? F32.FlushSubnormal(r) : r);
    }

    /// <summary>div.rnd.f64: IEEE division in any direction (the residual fixes the directed modes).</summary>
    internal static ulong DivF64(ulong a, ulong b, FpRounding mode)
    {
        double x = BitConverter.UInt64BitsToDouble(a), y = BitConverter.UInt64BitsToDouble(b);
        double q = x / y;
        int direction = double.IsFinite(q) && q != 0 ? Math.Sign(Math.FusedMultiplyAdd(-q, y, x)) * Math.Sign(y) : 0;
        return Directed(q, direction, mode, overflowed: double.IsInfinity(q) && double.IsFinite(x) && y != 0);
    }

    /// <summary>sqrt.rnd.f64 in any direction.</summary>
    internal static ulong SqrtF64(ulong a, FpRounding mode)
    {
        double x = BitConverter.UInt64BitsToDouble(a);
        double s = Math.Sqrt(x);
        int direction = double.IsFinite(s) && s != 0 ? Math.Sign(Math.FusedMultiplyAdd(-s, s, x)) : 0;
        return Directed(s, direction, mode, overflowed: false);
    }

    // From the round-to-nearest result and the side the exact value lies on, the directed result.
    // (Exact except when the residual itself underflows, i.e. quotients deep in the subnormal range.)
    private static ulong Directed(double nearest, int direction, FpRounding mode, bool overflowed)
    {
        if (double.IsNaN(nearest))
        {
            return FpFormat.F64.CanonicalNaN;
        }
        double r = nearest;
        if (overflowed)
        {
            bool keepInfinity = mode == FpRounding.NearestEven
                || (mode == FpRounding.Up && nearest > 0) || (mode == FpRounding.Down && nearest < 0);
            r = keepInfinity ? nearest : Math.CopySign(double.MaxValue, nearest);
        }
        else if (direction != 0)
        {
            if (mode == FpRounding.Up && direction > 0)
            {
                r = Math.BitIncrement(nearest);
            }
            else if (mode == FpRounding.Down && direction < 0)
            {
                r = Math.BitDecrement(nearest);
            }
            else if (mode == FpRounding.TowardZero && (nearest > 0 ? direction < 0 : direction > 0))
            {
                r = nearest > 0 ? Math.BitDecrement(nearest) : Math.BitIncrement(nearest);
            }
        }
        return BitConverter.DoubleToUInt64Bits(r);
    }
}
