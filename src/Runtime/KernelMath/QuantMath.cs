using ILGPU.Algorithms;

namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// The quantization arithmetic every backend shares, in fp32, written so that it is exact and
/// identical on the CPU, in ILGPU's PTX and in the CUDA kernels:
/// <list type="bullet">
/// <item>scale = max(amax / qmax, floor), an IEEE fp32 division (div.rn on GPUs);</item>
/// <item>q = clamp(round_half_even(x / scale), -qmax, qmax): the division again IEEE, the rounding
/// ties-to-even (the rule of __float2int_rn and cvt.rni), saturation symmetric.</item>
/// </list>
/// Callable from kernels and from host code.
/// </summary>
internal static class QuantMath
{
    /// <summary>The symmetric INT8 range's bound.</summary>
    public const float Int8Max = 127f;

    /// <summary>Rounds to the nearest integer, ties to even (exact for |v| below 2^23).</summary>
    public static float RoundHalfEven(float v)
    {
        float f = XMath.Floor(v);
        float d = v - f;
        if (d > 0.5f || (d == 0.5f && (((int)f) & 1) != 0))
        {
            f += 1f;
        }
        return f;
    }

    /// <summary>max(amax / qmax, floor).</summary>
    public static float Scale(float amax, float qmax, float floor) => XMath.Max(amax / qmax, floor);

    /// <summary>clamp(round_half_even(v / scale), -127, 127).</summary>
    public static sbyte QuantizeInt8(float v, float scale)
    {
        float q = RoundHalfEven(v / scale);
        q = XMath.Clamp(q, -Int8Max, Int8Max);
        return (sbyte)(int)q;
    }
}
