namespace Zoetrope.Runtime;

/// <summary>
/// Element types a <see cref="Tensor"/> can hold. The numeric codes are part of the native ABI
/// (<c>zt_dtype</c> in native/include/zoetrope.h) and of nothing else: never reorder them.
/// </summary>
public enum DType
{
    /// <summary>IEEE binary32.</summary>
    F32 = 0,
    /// <summary>IEEE binary16.</summary>
    F16 = 1,
    /// <summary>bfloat16: the upper half of a binary32 (8 exponent, 7 mantissa bits).</summary>
    BF16 = 2,
    /// <summary>Signed 8-bit integer.</summary>
    I8 = 3,
    /// <summary>Unsigned 8-bit integer.</summary>
    U8 = 4,
    /// <summary>Signed 32-bit integer.</summary>
    I32 = 5,
    /// <summary>OCP FP8 E4M3 ("fn"): bias 7, no infinities, NaN = S.1111.111, max 448.</summary>
    F8E4M3 = 6,
    /// <summary>OCP FP8 E5M2: bias 15, IEEE-style infinities and NaNs, max 57344.</summary>
    F8E5M2 = 7,
    /// <summary>IEEE binary64 (reference outputs, .npy f8).</summary>
    F64 = 8,
}
