namespace Zoetrope.Emulator.Ptx;

/// <summary>The PTX fundamental types an instruction suffix can name.</summary>
internal enum PtxType : byte
{
    None,
    B8, B16, B32, B64, B128,
    U8, U16, U32, U64,
    S8, S16, S32, S64,
    F16, F16x2, BF16, BF16x2, F32, F64, Tf32,
    E4M3, E5M2, E4M3x2, E5M2x2,
    Pred,
}

/// <summary>Facts about <see cref="PtxType"/>.</summary>
internal static class PtxTypes
{
    public static bool TryParse(string s, out PtxType t)
    {
        t = s switch
        {
            "b8" => PtxType.B8, "b16" => PtxType.B16, "b32" => PtxType.B32, "b64" => PtxType.B64, "b128" => PtxType.B128,
            "u8" => PtxType.U8, "u16" => PtxType.U16, "u32" => PtxType.U32, "u64" => PtxType.U64,
            "s8" => PtxType.S8, "s16" => PtxType.S16, "s32" => PtxType.S32, "s64" => PtxType.S64,
            "f16" => PtxType.F16, "f16x2" => PtxType.F16x2, "bf16" => PtxType.BF16, "bf16x2" => PtxType.BF16x2,
            "f32" => PtxType.F32, "f64" => PtxType.F64, "tf32" => PtxType.Tf32,
            "e4m3" => PtxType.E4M3, "e5m2" => PtxType.E5M2, "e4m3x2" => PtxType.E4M3x2, "e5m2x2" => PtxType.E5M2x2,
            "pred" => PtxType.Pred,
            _ => PtxType.None,
        };
        return t != PtxType.None;
    }

    /// <summary>Bytes of one value (a predicate counts as 1).</summary>
    public static int Size(this PtxType t) => t switch
    {
        PtxType.B8 or PtxType.U8 or PtxType.S8 or PtxType.E4M3 or PtxType.E5M2 or PtxType.Pred => 1,
        PtxType.B16 or PtxType.U16 or PtxType.S16 or PtxType.F16 or PtxType.BF16 or PtxType.E4M3x2 or PtxType.E5M2x2 => 2,
        PtxType.B32 or PtxType.U32 or PtxType.S32 or PtxType.F32 or PtxType.F16x2 or PtxType.BF16x2 or PtxType.Tf32 => 4,
        PtxType.B64 or PtxType.U64 or PtxType.S64 or PtxType.F64 => 8,
        PtxType.B128 => 16,
        _ => 0,
    };

    public static bool IsSigned(this PtxType t) => t is PtxType.S8 or PtxType.S16 or PtxType.S32 or PtxType.S64;

    public static bool IsFloat(this PtxType t) => t is PtxType.F16 or PtxType.BF16 or PtxType.F32 or PtxType.F64 or PtxType.F16x2 or PtxType.BF16x2;

    /// <summary>Sign- or zero-extends the low <see cref="Size"/> bytes of <paramref name="v"/> to 64 bits as the type says.</summary>
    public static ulong Extend(this PtxType t, ulong v) => t switch
    {
        PtxType.S8 => (ulong)(long)(sbyte)v,
        PtxType.S16 => (ulong)(long)(short)v,
        PtxType.S32 => (ulong)(long)(int)v,
        PtxType.U8 or PtxType.B8 or PtxType.E4M3 or PtxType.E5M2 => v & 0xFF,
        PtxType.U16 or PtxType.B16 or PtxType.F16 or PtxType.BF16 or PtxType.E4M3x2 or PtxType.E5M2x2 => v & 0xFFFF,
        PtxType.U32 or PtxType.B32 or PtxType.F32 or PtxType.F16x2 or PtxType.BF16x2 or PtxType.Tf32 => v & 0xFFFF_FFFF,
        PtxType.Pred => v & 1,
        _ => v,
    };
}
