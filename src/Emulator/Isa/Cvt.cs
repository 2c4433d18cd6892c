// cvt: every scalar conversion among s8..s64, u8..u64, b8..b64, f16, bf16, f32, f64, and the packed
// forms f16x2/bf16x2 <- two f32, e4m3x2/e5m2x2 <- two f32 or one f16x2/bf16x2, f16x2 <- e4m3x2/e5m2x2.
// ISA section: "Data Movement and Conversion Instructions: cvt" (Semantics; Integer Notes: .rni .rzi
// .rmi .rpi, NaN -> 0 or 1 << (n-1), float-to-int always clamps; Floating Point Notes: .rn .rz .rm
// .rp, .ftz for .f32 only, .sat to [0,1] with NaN -> +0, .relu, .satfinite; Notes: source wider than
// the type uses the low bits, signed results are sign-extended).
// Packing order (Semantics): f16x2/bf16x2 d[31:16] = cvt(a), d[15:0] = cvt(b); f8x2 d[15:8] = cvt(a),
// d[7:0] = cvt(b), or from f16x2 d[15:8] = cvt(a[31:16]); f16x2 <- f8x2 d[31:16] = cvt(a[15:8]).
// Results come back as ulong: signed integers sign-extended to 64 bits, everything else
// zero-extended; the caller keeps the low bits its destination register holds.
namespace Zoetrope.Emulator.Isa;

internal static class Cvt
{
    /// <summary>d = cvt(a) for a one-source spec.</summary>
    internal static ulong Convert(CvtSpec spec, ulong src)
    {
        if (spec.TwoSources)
        {
            throw new ArgumentException($"{spec} takes two sources: use Convert2.", nameof(spec));
        }
        CvtType d = spec.Dst, s = spec.Src;
        if (d is CvtType.E4M3x2 or CvtType.E5M2x2)
        {
            // From f16x2 / bf16x2: upper half to the upper byte.
            FpFormat from = s == CvtType.BF16x2 ? FpFormat.BF16 : FpFormat.F16;
            FpFormat to = Fp8(d);
            ulong hi = FloatToFloat(spec, from, to, (src >> 16) & 0xFFFF);
            ulong lo = FloatToFloat(spec, from, to, src & 0xFFFF);
            return (hi << 8) | lo;
        }
        if (d is CvtType.F16x2 && s is CvtType.E4M3x2 or CvtType.E5M2x2)
        {
            FpFormat from = Fp8(s);
            ulong hi = FloatToFloat(spec, from, FpFormat.F16, (src >> 8) & 0xFF);
            ulong lo = FloatToFloat(spec, from, FpFormat.F16, src & 0xFF);
            return (hi << 16) | lo;
        }
        return Scalar(spec, s, d, src);
    }

    /// <summary>d = pack(cvt(a), cvt(b)) for the two-source packs: a goes to the UPPER half.</summary>
    internal static ulong Convert2(CvtSpec spec, ulong a, ulong b)
    {
        if (!spec.TwoSources)
        {
            throw new ArgumentException($"{spec} takes one source: use Convert.", nameof(spec));
        }
        switch (spec.Dst)
        {
            case CvtType.F16x2:
            case CvtType.BF16x2:
            {
                FpFormat to = spec.Dst == CvtType.F16x2 ? FpFormat.F16 : FpFormat.BF16;
                ulong hi = FloatToFloat(spec, FpFormat.F32, to, a & 0xFFFF_FFFF);
                ulong lo = FloatToFloat(spec, FpFormat.F32, to, b & 0xFFFF_FFFF);
                return (hi << 16) | lo;
            }
            default:
            {
                FpFormat to = Fp8(spec.Dst);
                ulong hi = FloatToFloat(spec, FpFormat.F32, to, a & 0xFFFF_FFFF);
                ulong lo = FloatToFloat(spec, FpFormat.F32, to, b & 0xFFFF_FFFF);
                return (hi << 8) | lo;
            }
        }
    }

    private static FpFormat Fp8(CvtType t) => t == CvtType.E4M3x2 ? FpFormat.E4M3 : FpFormat.E5M2;

    private static ulong Scalar(CvtSpec spec, CvtType s, CvtType d, ulong src)
    {
        FpFormat? sf = CvtTypes.Float(s);
        FpFormat? df = CvtTypes.Float(d);
        if (sf is null && df is null)
        {
            return IntToInt(spec, s, d, src);
        }
        if (sf is null)
        {
            return IntToFloat(spec, s, df!, src);
        }
        if (df is null)
        {
            return FloatToInt(spec, sf, d, src);
        }
        return FloatToFloat(spec, sf, df, src & sf.Mask);
    }

    private static ulong IntToInt(CvtSpec spec, CvtType s, CvtType d, ulong src)
    {
        Int128 v = CvtTypes.ReadInt(s, src);
        int bits = CvtTypes.Bits(d);
        if (spec.Sat)
        {
            (Int128 lo, Int128 hi) = CvtTypes.Range(d);
            v = v < lo ? lo : v > hi ? hi : v;
        }
        return CvtTypes.Extend(d, (ulong)(v & (Int128)ulong.MaxValue), bits);
    }

    private static ulong IntToFloat(CvtSpec spec, CvtType s, FpFormat df, ulong src)
    {
        Int128 v = CvtTypes.ReadInt(s, src);
        bool neg = v < 0;
        ulong mag = (ulong)(neg ? -v : v);   // |-2^63| = 2^63 still fits a ulong
        ulong r = df.Round(neg, mag, 0, Direction(spec.Rounding), spec.SatFinite);
        return FinishFloat(spec, df, r);
    }

    private static ulong FloatToInt(CvtSpec spec, FpFormat sf, CvtType d, ulong src)
    {
        src &= sf.Mask;
        if (spec.Ftz && sf == FpFormat.F32)
        {
            src = sf.FlushSubnormal(src);
        }
        int bits = CvtTypes.Bits(d);
        if (sf.IsNaN(src))
        {
            // Integer Notes: 0, unless the source is .f64 or the destination is 64-bit, then
            // 1 << (bits - 1) (MININT for signed, MAXINT/2 + 1 for unsigned).
            ulong nan = sf == FpFormat.F64 || bits == 64 ? 1UL << (bits - 1) : 0;
            return CvtTypes.Extend(d, nan, bits);
        }
        double v = sf.ToDouble(src);
        double r = RoundToIntegral(v, spec.Rounding);
        (Int128 lo, Int128 hi) = CvtTypes.Range(d);
        Int128 result;
        // Compare in double before converting: float-to-int always clamps (Integer Notes, .sat).
        if (r >= (double)hi)
        {
            result = hi;
        }
        else if (r <= (double)lo)
        {
            result = lo;
        }
        else
        {
            result = (Int128)r;   // integral and in range: exact
        }
        return CvtTypes.Extend(d, (ulong)(result & (Int128)ulong.MaxValue), bits);
    }

    private static ulong FloatToFloat(CvtSpec spec, FpFormat sf, FpFormat df, ulong src)
    {
        if (spec.Ftz && sf == FpFormat.F32)
        {
            src = sf.FlushSubnormal(src);
        }
        FpClass cls = sf.Classify(src);
        bool neg = sf.IsNegative(src);
        ulong r;
        if (cls == FpClass.NaN)
        {
            if (spec.Sat)
            {
                return 0;                      // .sat: NaN results flush to +0
            }
            // bf16 -> f32 is a 16-bit shift on the GPU, which keeps the payload ("For cvt.f32.bf16,
            // NaN input yields unspecified NaN"); every other NaN result is the canonical NaN.
            return sf == FpFormat.BF16 && df == FpFormat.F32 && !spec.Relu ? src << 16 : df.CanonicalNaN;
        }
        if (spec.Rounding.IsInteger())
        {
            // Same-size float-to-float rounding to an integral value (cvt.rni.f32.f32 ...).
            double integral = RoundToIntegral(sf.ToDouble(src), spec.Rounding);
            r = df.FromDouble(integral);       // an integral value of a format is in the format
        }
        else if (cls == FpClass.Infinite)
        {
            r = (neg ? df.SignMask : 0) | (spec.SatFinite || !df.HasInfinity ? df.MaxFinite : df.Infinity);
        }
        else if (cls == FpClass.Zero)
        {
            r = df.Zero(neg);
        }
        else
        {
            sf.TryDecode(src, out _, out ulong mag, out int exp);
            r = df.Round(neg, mag, exp, Direction(spec.Rounding), spec.SatFinite);
        }
        return FinishFloat(spec, df, r);
    }

    // .relu, .sat and the .ftz flush of f32 results, applied to a rounded result.
    private static ulong FinishFloat(CvtSpec spec, FpFormat df, ulong r)
    {
        bool nan = df.IsNaN(r);
        if (spec.Relu && !nan && df.IsNegative(r))
        {
            r = 0;                             // clamps negatives (and -0) to +0
        }
        if (spec.Sat)
        {
            if (nan || df.IsNegative(r))
            {
                r = 0;
            }
            else if (df.ToDouble(r) > 1.0)
            {
                r = df.FromDouble(1.0);
            }
        }
        if (spec.Ftz && df == FpFormat.F32)
        {
            r = df.FlushSubnormal(r);
        }
        return r;
    }

    internal static FpRounding Direction(CvtRounding r) => r switch
    {
        CvtRounding.Rz or CvtRounding.Rzi => FpRounding.TowardZero,
        CvtRounding.Rm or CvtRounding.Rmi => FpRounding.Down,
        CvtRounding.Rp or CvtRounding.Rpi => FpRounding.Up,
        _ => FpRounding.NearestEven,
    };

    // Exact for every double: .NET's Round/Floor/Ceiling/Truncate are IEEE roundToIntegral and keep
    // the sign of zero (Math.Ceiling(-0.5) is -0.0).
    private static double RoundToIntegral(double v, CvtRounding r) => r switch
    {
        CvtRounding.Rzi => Math.Truncate(v),
        CvtRounding.Rmi => Math.Floor(v),
        CvtRounding.Rpi => Math.Ceiling(v),
        _ => Math.Round(v, MidpointRounding.ToEven),
    };
}
