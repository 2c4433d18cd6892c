using ILGPU;

namespace Zoetrope.Runtime.KernelMath;

/// <summary>
/// FP8 E4M3 conversions on 32-bit patterns, for kernels (and host code): round to nearest even,
/// saturating (|x| at or above 448 and infinities become +-448, NVIDIA's satfinite), NaN to 0x7F:
/// the same results as <see cref="MiniFloat.E4M3"/> and as cvt.rn.satfinite.e4m3x2.f32.
/// </summary>
internal static class Fp8Math
{
    private const uint Max448 = 0x43E0_0000u;   // 448.0f
    private const uint MinNormal = 0x3C80_0000u; // 2^-6

    /// <summary>Encodes <paramref name="v"/> as E4M3.</summary>
    public static byte EncodeE4M3(float v)
    {
        uint bits = Interop.FloatAsInt(v);
        uint sign = (bits >> 24) & 0x80u;
        uint abs = bits & 0x7FFF_FFFFu;
        if (abs > 0x7F80_0000u)
        {
            return 0x7F;
        }
        if (abs >= Max448)
        {
            return (byte)(sign | 0x7Eu);
        }
        if (abs < MinNormal)
        {
            // Subnormals are multiples of 2^-9: scale exactly and round (8 is the smallest normal's code).
            return (byte)(sign | (uint)QuantMath.RoundHalfEven(Interop.IntAsFloat(abs) * 512f));
        }
        // Keep 3 of the 23 mantissa bits, ties to even on the 20 dropped, carrying into the
        // exponent; then rebias 127 -> 7. Below 448 the result never exceeds 0x7E.
        uint rounded = abs + 0x7_FFFFu + ((abs >> 20) & 1u);
        return (byte)(sign | ((rounded >> 20) - ((127u - 7u) << 3)));
    }

    /// <summary>Decodes an E4M3 code (exact in fp32).</summary>
    public static float DecodeE4M3(byte code)
    {
        uint c = code;
        uint exp = (c >> 3) & 0xFu;
        uint man = c & 0x7u;
        float v;
        if (exp == 0xFu && man == 0x7u)
        {
            return float.NaN;
        }
        v = exp == 0 ? man * (1f / 512f) : Interop.IntAsFloat(((exp + 120u) << 23) | (man << 20));
        return (c & 0x80u) != 0 ? -v : v;
    }
}
