namespace Zoetrope.Runtime.IO;

/// <summary>
/// .npy type descriptors and the dtypes they map to.
/// </summary>
/// <remarks>
/// NumPy writes a descriptor from its type character, which ml_dtypes cannot extend: np.save of
/// an ml_dtypes.bfloat16 array writes '&lt;V2' (a 2-byte void), float8_e4m3fn '&lt;V1', and
/// float8_e5m2 '&lt;f1' (which np.load rejects). So on read: a 2-byte void is bf16 and a 1-byte
/// void is FP8 E4M3 (what np.save produces for them), '&lt;f1' is FP8 E5M2, and the ml_dtypes
/// names (bfloat16, float8_e4m3fn, float8_e5m2) are accepted too. On write: bf16 as '&lt;V2' and
/// E4M3 as '&lt;V1', byte-identical to np.save, loadable by any NumPy (then
/// <c>.view(ml_dtypes.bfloat16)</c>); E5M2 by its ml_dtypes name, the one form np.load can map
/// back to the type (with ml_dtypes imported), since its np.save form is unloadable.
/// </remarks>
internal static class NpyDescr
{
    /// <summary>Maps a descriptor to a dtype and whether its bytes are big-endian; null when unsupported.</summary>
    public static (DType DType, bool BigEndian)? Parse(string descr)
    {
        switch (descr)
        {
            case "bfloat16":
                return (DType.BF16, false);
            case "float8_e4m3fn":
                return (DType.F8E4M3, false);
            case "float8_e5m2":
                return (DType.F8E5M2, false);
        }
        if (descr.Length < 3)
        {
            return null;
        }
        char order = descr[0];
        string code = descr[1..];
        if (order is not ('<' or '>' or '|' or '='))
        {
            return null;
        }
        DType? t = code switch
        {
            "f2" => DType.F16,
            "f4" => DType.F32,
            "f8" => DType.F64,
            "i1" => DType.I8,
            "u1" => DType.U8,
            "i4" => DType.I32,
            "V2" => DType.BF16,
            "V1" => DType.F8E4M3,
            "f1" => DType.F8E5M2,
            _ => null,
        };
        if (t is null)
        {
            return null;
        }
        return (t.Value, order == '>' && t.Value.Size() > 1 && !code.StartsWith('V'));
    }

    /// <summary>The descriptor written for <paramref name="dtype"/>.</summary>
    public static string For(DType dtype) => dtype switch
    {
        DType.F16 => "<f2",
        DType.F32 => "<f4",
        DType.F64 => "<f8",
        DType.I8 => "|i1",
        DType.U8 => "|u1",
        DType.I32 => "<i4",
        DType.BF16 => "<V2",
        DType.F8E4M3 => "<V1",
        DType.F8E5M2 => "float8_e5m2",
        _ => throw new NotSupportedException($".npy has no descriptor for dtype {dtype.Name()}"),
    };
}
