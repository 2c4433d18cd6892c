// The decoded form of a cvt opcode ("cvt.rn.satfinite.e4m3x2.f32" ...) and the type table cvt uses.
// ISA section: "Data Movement and Conversion Instructions: cvt" (Syntax: .irnd = .rni .rzi .rmi .rpi,
// .frnd = .rn .rz .rm .rp; "Rounding modifier is mandatory in all of the following cases":
// narrowing float-to-float, all float-to-int, all int-to-float, all packed types; .satfinite is
// mandatory for the .e4m3x2/.e5m2x2 destinations). Modifiers may appear in any order, also after
// the types (the ISA's own examples write "cvt.f64.bf16.rp").
namespace Zoetrope.Emulator.Isa;

internal enum CvtType : byte
{
    U8, U16, U32, U64,
    S8, S16, S32, S64,
    B8, B16, B32, B64,
    F16, BF16, F32, F64,
    F16x2, BF16x2, E4M3x2, E5M2x2,
}

internal enum CvtRounding : byte
{
    None,
    Rn, Rz, Rm, Rp,
    Rni, Rzi, Rmi, Rpi,
}

internal readonly record struct CvtSpec(
    CvtType Dst,
    CvtType Src,
    CvtRounding Rounding = CvtRounding.None,
    bool Sat = false,
    bool SatFinite = false,
    bool Relu = false,
    bool Ftz = false)
{
    /// <summary>The packs whose two f32 sources a, b fill the upper and lower halves.</summary>
    public bool TwoSources =>
        Src == CvtType.F32 && Dst is CvtType.F16x2 or CvtType.BF16x2 or CvtType.E4M3x2 or CvtType.E5M2x2;

    /// <summary>Parses "cvt[.mods].dtype.atype[.mods]"; throws FormatException on anything else.</summary>
    public static CvtSpec Parse(string opcode)
    {
        string[] parts = opcode.Split('.');
        if (parts.Length < 3 || parts[0] != "cvt")
        {
            throw new FormatException($"not a cvt opcode: '{opcode}'");
        }
        var types = new List<CvtType>(2);
        CvtRounding rounding = CvtRounding.None;
        bool sat = false, satFinite = false, relu = false, ftz = false;
        foreach (string p in parts.AsSpan(1))
        {
            if (CvtTypes.TryParse(p, out CvtType t))
            {
                types.Add(t);
                continue;
            }
            CvtRounding r = p switch
            {
                "rn" => CvtRounding.Rn,
                "rz" => CvtRounding.Rz,
                "rm" => CvtRounding.Rm,
                "rp" => CvtRounding.Rp,
                "rni" => CvtRounding.Rni,
                "rzi" => CvtRounding.Rzi,
                "rmi" => CvtRounding.Rmi,
                "rpi" => CvtRounding.Rpi,
                _ => CvtRounding.None,
            };
            if (r != CvtRounding.None)
            {
                if (rounding != CvtRounding.None)
                {
                    throw new FormatException($"two rounding modifiers in '{opcode}'");
                }
                rounding = r;
                continue;
            }
            switch (p)
            {
                case "sat": sat = true; break;
                case "satfinite": satFinite = true; break;
                case "relu": relu = true; break;
                case "ftz": ftz = true; break;
                default: throw new FormatException($"unsupported cvt modifier '.{p}' in '{opcode}'");
            }
        }
        if (types.Count != 2)
        {
            throw new FormatException($"cvt needs a destination and a source type: '{opcode}'");
        }
        var spec = new CvtSpec(types[0], types[1], rounding, sat, satFinite, relu, ftz);
        spec.Validate(opcode);
        return spec;
    }

    // Rejects the combinations the ISA makes illegal where getting them wrong would silently pick
    // a rounding: a missing mandatory rounding, a rounding of the wrong kind, a missing .satfinite.
    private void Validate(string opcode)
    {
        FpFormat? sf = CvtTypes.Float(Src);
        FpFormat? df = CvtTypes.Float(Dst);
        bool packed = CvtTypes.IsPacked(Dst) || CvtTypes.IsPacked(Src);
        bool valid = (Dst, Src) switch
        {
            (CvtType.F16x2 or CvtType.BF16x2, CvtType.F32) => true,
            (CvtType.E4M3x2 or CvtType.E5M2x2, CvtType.F32 or CvtType.F16x2 or CvtType.BF16x2) => true,
            (CvtType.F16x2, CvtType.E4M3x2 or CvtType.E5M2x2) => true,
            _ => !packed,
        };
        if (!valid)
        {
            throw new FormatException($"unsupported packed conversion '{opcode}'");
        }
        string? error = null;
        if (packed)
        {
            if (Rounding is not (CvtRounding.Rn or CvtRounding.Rz)
                || (Rounding == CvtRounding.Rz && Dst is not (CvtType.F16x2 or CvtType.BF16x2)))
            {
                error = "packed conversions need .rn (or .rz for f16x2/bf16x2 <- f32)";
            }
            else if (Dst is CvtType.E4M3x2 or CvtType.E5M2x2 && !SatFinite)
            {
                error = ".satfinite is mandatory for .e4m3x2/.e5m2x2 destinations";
            }
        }
        else if (sf is not null && df is null && !Rounding.IsInteger())
        {
            error = "float-to-int needs .rni/.rzi/.rmi/.rpi";
        }
        else if (sf is null && df is not null && !Rounding.IsFloat())
        {
            error = "int-to-float needs .rn/.rz/.rm/.rp";
        }
        else if (sf is not null && df is not null && Narrows(sf, df) && !Rounding.IsFloat())
        {
            error = "a narrowing float conversion needs .rn/.rz/.rm/.rp";
        }
        else if (sf is not null && df is not null && Rounding.IsInteger() && sf != df)
        {
            error = "integer rounding of a float is only legal between equal types";
        }
        else if (sf is null && df is null && Rounding != CvtRounding.None)
        {
            error = "integer-to-integer conversions take no rounding";
        }
        if (error is not null)
        {
            throw new FormatException($"{error}: '{opcode}'");
        }
    }

    // Some value of sf has no exact value in df (fewer fraction bits or a smaller exponent range).
    private static bool Narrows(FpFormat sf, FpFormat df) => df.MantBits < sf.MantBits || df.Bias < sf.Bias;

    public override string ToString()
    {
        var s = new System.Text.StringBuilder("cvt");
        if (Rounding != CvtRounding.None)
        {
            s.Append('.').Append(Rounding.ToString().ToLowerInvariant());
        }
        if (Ftz) s.Append(".ftz");
        if (Sat) s.Append(".sat");
        if (Relu) s.Append(".relu");
        if (SatFinite) s.Append(".satfinite");
        return s.Append('.').Append(CvtTypes.Name(Dst)).Append('.').Append(CvtTypes.Name(Src)).ToString();
    }
}

internal static class CvtTypes
{
    public static bool IsInteger(this CvtRounding r) => r is CvtRounding.Rni or CvtRounding.Rzi or CvtRounding.Rmi or CvtRounding.Rpi;

    public static bool IsFloat(this CvtRounding r) => r is CvtRounding.Rn or CvtRounding.Rz or CvtRounding.Rm or CvtRounding.Rp;

    public static bool TryParse(string s, out CvtType t)
    {
        foreach (CvtType v in Enum.GetValues<CvtType>())
        {
            if (Name(v) == s)
            {
                t = v;
                return true;
            }
        }
        t = default;
        return false;
    }

    public static string Name(CvtType t) => t.ToString().ToLowerInvariant();

    public static bool IsPacked(CvtType t) => t is CvtType.F16x2 or CvtType.BF16x2 or CvtType.E4M3x2 or CvtType.E5M2x2;

    /// <summary>The float format of a scalar float type; null for integer types.</summary>
    public static FpFormat? Float(CvtType t) => t switch
    {
        CvtType.F16 => FpFormat.F16,
        CvtType.BF16 => FpFormat.BF16,
        CvtType.F32 => FpFormat.F32,
        CvtType.F64 => FpFormat.F64,
        _ => null,
    };

    public static bool IsSigned(CvtType t) => t is CvtType.S8 or CvtType.S16 or CvtType.S32 or CvtType.S64;

    public static int Bits(CvtType t) => t switch
    {
        CvtType.U8 or CvtType.S8 or CvtType.B8 => 8,
        CvtType.U16 or CvtType.S16 or CvtType.B16 or CvtType.F16 or CvtType.BF16 or CvtType.E4M3x2 or CvtType.E5M2x2 => 16,
        CvtType.U32 or CvtType.S32 or CvtType.B32 or CvtType.F32 or CvtType.F16x2 or CvtType.BF16x2 => 32,
        _ => 64,
    };

    /// <summary>The value range of an integer type (bit-size types read as unsigned).</summary>
    public static (Int128 Lo, Int128 Hi) Range(CvtType t)
    {
        int bits = Bits(t);
        return IsSigned(t)
            ? (-((Int128)1 << (bits - 1)), ((Int128)1 << (bits - 1)) - 1)
            : (0, ((Int128)1 << bits) - 1);
    }

    /// <summary>The integer an operand holds: its low Bits(t) bits, sign-extended if t is signed.</summary>
    public static Int128 ReadInt(CvtType t, ulong raw)
    {
        int bits = Bits(t);
        ulong low = bits == 64 ? raw : raw & ((1UL << bits) - 1);
        if (IsSigned(t))
        {
            int shift = 64 - bits;
            return (long)(low << shift) >> shift;
        }
        return low;
    }

    /// <summary>A result's low <paramref name="bits"/> bits, sign-extended to 64 if t is signed.</summary>
    public static ulong Extend(CvtType t, ulong value, int bits)
    {
        if (bits == 64)
        {
            return value;
        }
        int shift = 64 - bits;
        return IsSigned(t) ? (ulong)((long)(value << shift) >> shift) : value & ((1UL << bits) - 1);
    }
}
