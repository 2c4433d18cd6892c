// cvt (Isa/Cvt.cs) against hand-computed bit patterns from the PTX ISA's cvt section: every family
// (int<->int, float->int, int->float, float<->float, the f16x2/bf16x2/e4m3x2/e5m2x2 packs) with NaN,
// ±Inf, ±0, subnormals, ties, both signs and the saturation edges (int8 127/-128, e4m3 448,
// e5m2 57344, f16 65504). Signed integer results are expected sign-extended to 64 bits.
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaCvtTests
{
    private static ulong Cvt1(string opcode, ulong src) => Cvt.Convert(CvtSpec.Parse(opcode), src);

    // f32 -> f16: ties to even, overflow at the 65520 midpoint, subnormals, NaN -> 0x7FFF.
    [TestCase("cvt.rn.f16.f32", 0x3F800000UL, 0x3C00UL)]      // 1.0
    [TestCase("cvt.rn.f16.f32", 0xC0000000UL, 0xC000UL)]      // -2.0
    [TestCase("cvt.rn.f16.f32", 0x477FE000UL, 0x7BFFUL)]      // 65504 = f16 max
    [TestCase("cvt.rn.f16.f32", 0x477FEFFFUL, 0x7BFFUL)]      // just below the 65520 midpoint
    [TestCase("cvt.rn.f16.f32", 0x477FF000UL, 0x7C00UL)]      // 65520: tie, 0x3FF is odd -> Inf
    [TestCase("cvt.rz.f16.f32", 0x477FF000UL, 0x7BFFUL)]
    [TestCase("cvt.rz.f16.f32", 0x501502F9UL, 0x7BFFUL)]      // 1e10 toward zero -> max
    [TestCase("cvt.rn.f16.f32", 0x501502F9UL, 0x7C00UL)]
    [TestCase("cvt.rn.f16.f32", 0xD01502F9UL, 0xFC00UL)]
    [TestCase("cvt.rn.satfinite.f16.f32", 0x501502F9UL, 0x7BFFUL)]
    [TestCase("cvt.rn.satfinite.f16.f32", 0xFF800000UL, 0xFBFFUL)] // -Inf -> -max
    [TestCase("cvt.rn.satfinite.f16.f32", 0x7FC00000UL, 0x7FFFUL)] // NaN stays NaN
    [TestCase("cvt.rn.f16.f32", 0x7F800000UL, 0x7C00UL)]
    [TestCase("cvt.rn.f16.f32", 0x7FC00000UL, 0x7FFFUL)]
    [TestCase("cvt.rn.f16.f32", 0xFFC00001UL, 0x7FFFUL)]      // any NaN -> canonical
    [TestCase("cvt.rn.f16.f32", 0x3F801000UL, 0x3C00UL)]      // 1 + 2^-11: tie -> even 0x3C00
    [TestCase("cvt.rn.f16.f32", 0x3F803000UL, 0x3C02UL)]      // 1 + 3*2^-11: tie -> even 0x3C02
    [TestCase("cvt.rn.f16.f32", 0x3F801001UL, 0x3C01UL)]      // just above the tie
    [TestCase("cvt.rn.f16.f32", 0x33800000UL, 0x0001UL)]      // 2^-24 = smallest f16 subnormal
    [TestCase("cvt.rn.f16.f32", 0x33000000UL, 0x0000UL)]      // 2^-25: tie -> 0
    [TestCase("cvt.rn.f16.f32", 0x33000001UL, 0x0001UL)]      // just above
    [TestCase("cvt.rn.f16.f32", 0xB3000000UL, 0x8000UL)]      // -2^-25 -> -0
    [TestCase("cvt.rn.f16.f32", 0x33C00000UL, 0x0002UL)]      // 3*2^-25: tie between 1 and 2 -> 2
    [TestCase("cvt.rn.f16.f32", 0x38800000UL, 0x0400UL)]      // 2^-14 = smallest f16 normal
    [TestCase("cvt.rn.f16.f32", 0x80000001UL, 0x8000UL)]      // f32 subnormal -> -0
    [TestCase("cvt.rn.ftz.f16.f32", 0x00000001UL, 0x0000UL)]
    [TestCase("cvt.rm.f16.f32", 0x3F800001UL, 0x3C00UL)]
    [TestCase("cvt.rm.f16.f32", 0xBF800001UL, 0xBC01UL)]
    [TestCase("cvt.rp.f16.f32", 0x3F800001UL, 0x3C01UL)]
    [TestCase("cvt.rp.f16.f32", 0xBF800001UL, 0xBC00UL)]
    [TestCase("cvt.rn.relu.f16.f32", 0xBF800000UL, 0x0000UL)]
    [TestCase("cvt.rn.relu.f16.f32", 0x7FC00000UL, 0x7FFFUL)]
    [TestCase("cvt.rn.relu.f16.f32", 0x3F800000UL, 0x3C00UL)]
    [TestCase("cvt.rn.sat.f16.f32", 0x40000000UL, 0x3C00UL)]
    [TestCase("cvt.rn.sat.f16.f32", 0x7FC00000UL, 0x0000UL)]
    // f32 -> bf16
    [TestCase("cvt.rn.bf16.f32", 0x3F800000UL, 0x3F80UL)]
    [TestCase("cvt.rn.bf16.f32", 0x3F808000UL, 0x3F80UL)]     // 1 + 2^-8: tie -> even
    [TestCase("cvt.rn.bf16.f32", 0x3F818000UL, 0x3F82UL)]     // 1 + 3*2^-8: tie -> even
    [TestCase("cvt.rn.bf16.f32", 0x3F808001UL, 0x3F81UL)]
    [TestCase("cvt.rn.bf16.f32", 0x7F7FFFFFUL, 0x7F80UL)]     // f32 max rounds up past bf16 max
    [TestCase("cvt.rz.bf16.f32", 0x7F7FFFFFUL, 0x7F7FUL)]
    [TestCase("cvt.rn.satfinite.bf16.f32", 0x7F7FFFFFUL, 0x7F7FUL)]
    [TestCase("cvt.rn.bf16.f32", 0x7FC00000UL, 0x7FFFUL)]
    [TestCase("cvt.rn.bf16.f32", 0x00010000UL, 0x0001UL)]     // 2^-133 = smallest bf16 subnormal
    [TestCase("cvt.rn.bf16.f32", 0x00008000UL, 0x0000UL)]     // 2^-134: tie -> 0
    [TestCase("cvt.rn.bf16.f32", 0x00018000UL, 0x0002UL)]     // 1.5 * 2^-133: tie -> 2
    [TestCase("cvt.rn.bf16.f32", 0x00000001UL, 0x0000UL)]
    [TestCase("cvt.rn.ftz.bf16.f32", 0x00010000UL, 0x0000UL)] // f32 input flushed first
    [TestCase("cvt.rn.bf16.f32", 0x80000000UL, 0x8000UL)]
    // widening: exact; NaN canonical, except bf16 -> f32 which keeps the payload (a shift)
    [TestCase("cvt.f32.f16", 0x3C00UL, 0x3F800000UL)]
    [TestCase("cvt.f32.f16", 0x0001UL, 0x33800000UL)]
    [TestCase("cvt.f32.f16", 0x7BFFUL, 0x477FE000UL)]
    [TestCase("cvt.f32.f16", 0x7C00UL, 0x7F800000UL)]
    [TestCase("cvt.f32.f16", 0xFC00UL, 0xFF800000UL)]
    [TestCase("cvt.f32.f16", 0x8000UL, 0x80000000UL)]
    [TestCase("cvt.f32.f16", 0x7E00UL, 0x7FFFFFFFUL)]
    [TestCase("cvt.f32.f16", 0xFFFF3C00UL, 0x3F800000UL)]     // only the low 16 bits are read
    [TestCase("cvt.f32.bf16", 0x3F80UL, 0x3F800000UL)]
    [TestCase("cvt.f32.bf16", 0x0001UL, 0x00010000UL)]        // bf16 subnormal -> f32 subnormal
    [TestCase("cvt.ftz.f32.bf16", 0x0001UL, 0x00000000UL)]    // ...flushed as an f32 result
    [TestCase("cvt.f32.bf16", 0x7FC1UL, 0x7FC10000UL)]
    [TestCase("cvt.f64.f32", 0x3F800000UL, 0x3FF0000000000000UL)]
    [TestCase("cvt.f64.f32", 0x00000001UL, 0x36A0000000000000UL)] // 2^-149 exactly
    [TestCase("cvt.ftz.f64.f32", 0x80000001UL, 0x8000000000000000UL)]
    [TestCase("cvt.f64.f32", 0x7F800000UL, 0x7FF0000000000000UL)]
    [TestCase("cvt.f64.f32", 0x7FC00000UL, 0x7FFFFFFFFFFFFFFFUL)]
    [TestCase("cvt.f64.f16", 0x0001UL, 0x3E70000000000000UL)] // 2^-24
    // f64 -> f32 in all four directions
    [TestCase("cvt.rn.f32.f64", 0x3FD5555555555555UL, 0x3EAAAAABUL)]   // 1/3
    [TestCase("cvt.rz.f32.f64", 0x3FD5555555555555UL, 0x3EAAAAAAUL)]
    [TestCase("cvt.rm.f32.f64", 0x3FD5555555555555UL, 0x3EAAAAAAUL)]
    [TestCase("cvt.rp.f32.f64", 0x3FD5555555555555UL, 0x3EAAAAABUL)]
    [TestCase("cvt.rm.f32.f64", 0xBFD5555555555555UL, 0xBEAAAAABUL)]
    [TestCase("cvt.rp.f32.f64", 0xBFD5555555555555UL, 0xBEAAAAAAUL)]
    [TestCase("cvt.rn.f32.f64", 0x7E37E43C8800759CUL, 0x7F800000UL)]   // 1e300
    [TestCase("cvt.rz.f32.f64", 0x7E37E43C8800759CUL, 0x7F7FFFFFUL)]
    [TestCase("cvt.rm.f32.f64", 0x7E37E43C8800759CUL, 0x7F7FFFFFUL)]
    [TestCase("cvt.rp.f32.f64", 0x7E37E43C8800759CUL, 0x7F800000UL)]
    [TestCase("cvt.rm.f32.f64", 0xFE37E43C8800759CUL, 0xFF800000UL)]
    [TestCase("cvt.rp.f32.f64", 0xFE37E43C8800759CUL, 0xFF7FFFFFUL)]
    [TestCase("cvt.rn.f32.f64", 0x36A0000000000000UL, 0x00000001UL)]   // 2^-149
    [TestCase("cvt.rn.ftz.f32.f64", 0x36A0000000000000UL, 0x00000000UL)]
    [TestCase("cvt.rn.f32.f64", 0x3690000000000000UL, 0x00000000UL)]   // 2^-150: tie -> 0
    [TestCase("cvt.rp.f32.f64", 0x3690000000000000UL, 0x00000001UL)]
    [TestCase("cvt.rn.f32.f64", 0x7FF8000000000001UL, 0x7FFFFFFFUL)]
    [TestCase("cvt.rn.f32.f64", 0x8000000000000000UL, 0x80000000UL)]
    // same type: ftz, sat, integral rounding
    [TestCase("cvt.f32.f32", 0x00000001UL, 0x00000001UL)]
    [TestCase("cvt.ftz.f32.f32", 0x00000001UL, 0x00000000UL)]
    [TestCase("cvt.ftz.f32.f32", 0x80000001UL, 0x80000000UL)]
    [TestCase("cvt.sat.f32.f32", 0x3FC00000UL, 0x3F800000UL)]  // 1.5 -> 1
    [TestCase("cvt.sat.f32.f32", 0xBF000000UL, 0x00000000UL)]  // -0.5 -> +0
    [TestCase("cvt.sat.f32.f32", 0x80000000UL, 0x00000000UL)]  // -0 -> +0
    [TestCase("cvt.sat.f32.f32", 0x7FC00000UL, 0x00000000UL)]  // NaN -> +0
    [TestCase("cvt.sat.f32.f32", 0x7F800000UL, 0x3F800000UL)]
    [TestCase("cvt.sat.f32.f32", 0x3E800000UL, 0x3E800000UL)]
    [TestCase("cvt.rni.f32.f32", 0x40200000UL, 0x40000000UL)]  // 2.5 -> 2
    [TestCase("cvt.rni.f32.f32", 0x40600000UL, 0x40800000UL)]  // 3.5 -> 4
    [TestCase("cvt.rni.f32.f32", 0xC0200000UL, 0xC0000000UL)]  // -2.5 -> -2
    [TestCase("cvt.rni.f32.f32", 0xBECCCCCDUL, 0x80000000UL)]  // -0.4 -> -0
    [TestCase("cvt.rmi.f32.f32", 0xBF000000UL, 0xBF800000UL)]  // -0.5 -> -1
    [TestCase("cvt.rpi.f32.f32", 0xBF000000UL, 0x80000000UL)]  // -0.5 -> -0
    [TestCase("cvt.rzi.f32.f32", 0xBFC00000UL, 0xBF800000UL)]  // -1.5 -> -1
    [TestCase("cvt.rpi.f32.f32", 0x00000001UL, 0x3F800000UL)]  // subnormal up to 1
    [TestCase("cvt.rpi.ftz.f32.f32", 0x00000001UL, 0x00000000UL)]
    [TestCase("cvt.rni.f32.f32", 0x7FC00000UL, 0x7FFFFFFFUL)]
    [TestCase("cvt.rni.f16.f16", 0x3E00UL, 0x4000UL)]          // 1.5 -> 2
    [TestCase("cvt.rni.f16.f16", 0x4100UL, 0x4000UL)]          // 2.5 -> 2
    [TestCase("cvt.rzi.f64.f64", 0xC00C000000000000UL, 0xC008000000000000UL)] // -3.5 -> -3
    // f16 <-> bf16 narrow both ways
    [TestCase("cvt.rn.bf16.f16", 0x3C01UL, 0x3F80UL)]          // 1 + 2^-10 -> 1.0
    [TestCase("cvt.rn.f16.bf16", 0x4780UL, 0x7C00UL)]          // 65536 -> Inf
    public void ConvertsOneSource(string opcode, ulong src, ulong expected) =>
        Assert.That(Cvt1(opcode, src), Is.EqualTo(expected), $"{opcode} 0x{src:X}");

    // float -> int: always clamps; NaN -> 0, or 1 << (n-1) from .f64 or into 64-bit types.
    [TestCase("cvt.rzi.s32.f32", 0x3FF33333UL, 1UL)]                     // 1.9
    [TestCase("cvt.rzi.s32.f32", 0xBFF33333UL, 0xFFFFFFFFFFFFFFFFUL)]    // -1.9 -> -1
    [TestCase("cvt.rzi.s32.f32", 0x4F32D05EUL, 0x7FFFFFFFUL)]            // 3e9
    [TestCase("cvt.rzi.s32.f32", 0xCF32D05EUL, 0xFFFFFFFF80000000UL)]    // -3e9
    [TestCase("cvt.rzi.s32.f32", 0x7FC00000UL, 0UL)]
    [TestCase("cvt.rzi.s32.f32", 0x7F800000UL, 0x7FFFFFFFUL)]
    [TestCase("cvt.rzi.s32.f32", 0xFF800000UL, 0xFFFFFFFF80000000UL)]
    [TestCase("cvt.rzi.s32.f32", 0x80000000UL, 0UL)]
    [TestCase("cvt.rni.s32.f32", 0x40200000UL, 2UL)]                     // 2.5 -> 2
    [TestCase("cvt.rni.s32.f32", 0x40600000UL, 4UL)]                     // 3.5 -> 4
    [TestCase("cvt.rni.s32.f32", 0xC0200000UL, 0xFFFFFFFFFFFFFFFEUL)]    // -2.5 -> -2
    [TestCase("cvt.rni.s32.f32", 0x3F000000UL, 0UL)]                     // 0.5 -> 0
    [TestCase("cvt.rni.s32.f32", 0x3FC00000UL, 2UL)]                     // 1.5 -> 2
    [TestCase("cvt.rmi.s32.f32", 0xBF000000UL, 0xFFFFFFFFFFFFFFFFUL)]    // -0.5 -> -1
    [TestCase("cvt.rmi.s32.f32", 0x3F000000UL, 0UL)]
    [TestCase("cvt.rpi.s32.f32", 0x3F000000UL, 1UL)]
    [TestCase("cvt.rpi.s32.f32", 0xBF000000UL, 0UL)]
    [TestCase("cvt.rpi.s32.f32", 0x00000001UL, 1UL)]                     // subnormal -> 1
    [TestCase("cvt.rpi.ftz.s32.f32", 0x00000001UL, 0UL)]                 // flushed first
    [TestCase("cvt.rzi.s8.f32", 0x42FFCCCDUL, 0x7FUL)]                   // 127.9 -> 127
    [TestCase("cvt.rzi.s8.f32", 0x43000000UL, 0x7FUL)]                   // 128 clamps
    [TestCase("cvt.rzi.s8.f32", 0x43969999UL, 0x7FUL)]                   // 301.2 clamps
    [TestCase("cvt.rzi.s8.f32", 0xC3008000UL, 0xFFFFFFFFFFFFFF80UL)]     // -128.5 -> -128
    [TestCase("cvt.rzi.s8.f32", 0xC3010000UL, 0xFFFFFFFFFFFFFF80UL)]     // -129 clamps
    [TestCase("cvt.rzi.s8.f32", 0x7FC00000UL, 0UL)]
    [TestCase("cvt.rzi.u8.f32", 0xBF800000UL, 0UL)]                      // -1 -> 0
    [TestCase("cvt.rzi.u8.f32", 0x437F8000UL, 0xFFUL)]                   // 255.5 -> 255
    [TestCase("cvt.rzi.u8.f32", 0x43800000UL, 0xFFUL)]                   // 256 clamps
    [TestCase("cvt.rni.u32.f32", 0xBECCCCCDUL, 0UL)]                     // -0.4 -> 0
    [TestCase("cvt.rni.u32.f32", 0x4F800000UL, 0xFFFFFFFFUL)]            // 2^32 clamps
    [TestCase("cvt.rzi.s64.f32", 0x7FC00000UL, 0x8000000000000000UL)]    // 64-bit dst: NaN -> MININT
    [TestCase("cvt.rzi.u64.f32", 0x7FC00000UL, 0x8000000000000000UL)]
    [TestCase("cvt.rzi.s32.f64", 0x7FF8000000000000UL, 0xFFFFFFFF80000000UL)] // f64 src: 1 << 31
    [TestCase("cvt.rzi.u32.f64", 0x7FF8000000000000UL, 0x80000000UL)]
    [TestCase("cvt.rzi.s16.f64", 0x7FF8000000000000UL, 0xFFFFFFFFFFFF8000UL)]
    [TestCase("cvt.rzi.s64.f64", 0x43E0000000000000UL, 0x7FFFFFFFFFFFFFFFUL)] // 2^63 clamps
    [TestCase("cvt.rzi.s64.f64", 0xC3E0000000000000UL, 0x8000000000000000UL)] // -2^63 fits
    [TestCase("cvt.rzi.s64.f64", 0xC3E0000000000001UL, 0x8000000000000000UL)] // below clamps
    [TestCase("cvt.rzi.u64.f64", 0x43F0000000000000UL, 0xFFFFFFFFFFFFFFFFUL)] // 2^64 clamps
    [TestCase("cvt.rzi.u64.f64", 0x43E0000000000000UL, 0x8000000000000000UL)] // 2^63 fits
    [TestCase("cvt.rzi.u64.f64", 0x43EFFFFFFFFFFFFFUL, 0xFFFFFFFFFFFFF800UL)] // largest double < 2^64
    [TestCase("cvt.rni.s32.f16", 0x3E00UL, 2UL)]                         // 1.5
    [TestCase("cvt.rni.s32.f16", 0x7C00UL, 0x7FFFFFFFUL)]
    [TestCase("cvt.rni.s32.f16", 0x7E00UL, 0UL)]
    [TestCase("cvt.rzi.s32.bf16", 0xC2F7UL, 0xFFFFFFFFFFFFFF85UL)]       // -123.5 -> -123
    public void ConvertsFloatToInt(string opcode, ulong src, ulong expected) =>
        Assert.That(Cvt1(opcode, src), Is.EqualTo(expected), $"{opcode} 0x{src:X}");

    // int -> float: every rounding direction at the f32 24-bit edge, 64-bit sources, narrow sources.
    [TestCase("cvt.rn.f32.s32", 16777217UL, 0x4B800000UL)]               // 2^24+1: tie -> 2^24
    [TestCase("cvt.rn.f32.s32", 16777219UL, 0x4B800002UL)]               // tie -> 2^24+4 (even)
    [TestCase("cvt.rz.f32.s32", 16777217UL, 0x4B800000UL)]
    [TestCase("cvt.rp.f32.s32", 16777217UL, 0x4B800001UL)]
    [TestCase("cvt.rm.f32.s32", 0xFEFFFFFFUL, 0xCB800001UL)]             // -(2^24+1) -> -(2^24+2)
    [TestCase("cvt.rp.f32.s32", 0xFEFFFFFFUL, 0xCB800000UL)]
    [TestCase("cvt.rn.f32.s32", 0x80000000UL, 0xCF000000UL)]             // INT_MIN
    [TestCase("cvt.rn.f32.s32", 0UL, 0UL)]
    [TestCase("cvt.rn.f32.u32", 0xFFFFFFFFUL, 0x4F800000UL)]
    [TestCase("cvt.rn.f32.u64", 0xFFFFFFFFFFFFFFFFUL, 0x5F800000UL)]
    [TestCase("cvt.rz.f32.u64", 0xFFFFFFFFFFFFFFFFUL, 0x5F7FFFFFUL)]
    [TestCase("cvt.rn.f64.s32", 0xFFFFFFFBUL, 0xC014000000000000UL)]     // -5
    [TestCase("cvt.rn.f64.u64", 0xFFFFFFFFFFFFFFFFUL, 0x43F0000000000000UL)]
    [TestCase("cvt.rz.f64.u64", 0xFFFFFFFFFFFFFFFFUL, 0x43EFFFFFFFFFFFFFUL)]
    [TestCase("cvt.rn.f64.s64", 0x8000000000000000UL, 0xC3E0000000000000UL)]
    [TestCase("cvt.rn.f16.s32", 65520UL, 0x7C00UL)]
    [TestCase("cvt.rz.f16.s32", 65520UL, 0x7BFFUL)]
    [TestCase("cvt.rn.f16.s32", 2049UL, 0x6800UL)]                       // tie -> 2048
    [TestCase("cvt.rn.f16.s32", 2051UL, 0x6802UL)]                       // tie -> 2052
    [TestCase("cvt.rn.bf16.s32", 257UL, 0x4380UL)]                       // tie -> 256
    [TestCase("cvt.rn.f32.s8", 0x1FFUL, 0xBF800000UL)]                   // low byte 0xFF = -1
    [TestCase("cvt.rn.f32.u8", 0x1FFUL, 0x437F0000UL)]                   // 255
    public void ConvertsIntToFloat(string opcode, ulong src, ulong expected) =>
        Assert.That(Cvt1(opcode, src), Is.EqualTo(expected), $"{opcode} 0x{src:X}");

    // int -> int: truncation, sign/zero extension by the SOURCE type, .sat clamping by both.
    [TestCase("cvt.u32.u64", 0x123456789UL, 0x23456789UL)]
    [TestCase("cvt.s64.s32", 0xFFFFFFFFUL, 0xFFFFFFFFFFFFFFFFUL)]
    [TestCase("cvt.s64.s32", 0x7FFFFFFFUL, 0x7FFFFFFFUL)]
    [TestCase("cvt.s64.u32", 0xFFFFFFFFUL, 0xFFFFFFFFUL)]
    [TestCase("cvt.s16.s8", 0x80UL, 0xFFFFFFFFFFFFFF80UL)]
    [TestCase("cvt.u32.s8", 0xFFUL, 0xFFFFFFFFUL)]                        // -1 sign-extends
    [TestCase("cvt.s32.u8", 0xFFUL, 0xFFUL)]
    [TestCase("cvt.u8.u32", 0x1FFUL, 0xFFUL)]
    [TestCase("cvt.u8.u32", 0x100UL, 0x00UL)]
    [TestCase("cvt.sat.u8.u32", 0x100UL, 0xFFUL)]
    [TestCase("cvt.s8.s32", 200UL, 0xFFFFFFFFFFFFFFC8UL)]                // wraps to -56
    [TestCase("cvt.sat.s8.s32", 200UL, 0x7FUL)]
    [TestCase("cvt.sat.s8.s32", 127UL, 0x7FUL)]
    [TestCase("cvt.sat.s8.s32", 0xFFFFFF38UL, 0xFFFFFFFFFFFFFF80UL)]     // -200 -> -128
    [TestCase("cvt.sat.s8.s32", 0xFFFFFF80UL, 0xFFFFFFFFFFFFFF80UL)]     // -128 stays
    [TestCase("cvt.sat.s8.s32", 0xFFFFFF7FUL, 0xFFFFFFFFFFFFFF80UL)]     // -129 -> -128
    [TestCase("cvt.sat.u32.s32", 0xFFFFFFFFUL, 0UL)]
    [TestCase("cvt.u32.s32", 0xFFFFFFFFUL, 0xFFFFFFFFUL)]
    [TestCase("cvt.sat.s32.u32", 0xFFFFFFFFUL, 0x7FFFFFFFUL)]
    [TestCase("cvt.sat.s64.u64", 0xFFFFFFFFFFFFFFFFUL, 0x7FFFFFFFFFFFFFFFUL)]
    [TestCase("cvt.sat.u64.s64", 0xFFFFFFFFFFFFFFFFUL, 0UL)]
    [TestCase("cvt.b16.b32", 0x12345678UL, 0x5678UL)]
    public void ConvertsIntToInt(string opcode, ulong src, ulong expected) =>
        Assert.That(Cvt1(opcode, src), Is.EqualTo(expected), $"{opcode} 0x{src:X}");

    // Two-source packs: the ISA puts cvt(a) in the UPPER half, cvt(b) in the lower.
    [TestCase("cvt.rn.f16x2.f32", 0x3F800000UL, 0x40000000UL, 0x3C004000UL)]      // {hi 1.0, lo 2.0}
    [TestCase("cvt.rn.bf16x2.f32", 0x3F800000UL, 0xC0000000UL, 0x3F80C000UL)]
    [TestCase("cvt.rn.relu.f16x2.f32", 0xBF800000UL, 0x7FC00000UL, 0x00007FFFUL)]
    [TestCase("cvt.rz.satfinite.bf16x2.f32", 0x7F800000UL, 0xFF800000UL, 0x7F7FFF7FUL)]
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x3F800000UL, 0x43E00000UL, 0x387EUL)] // {1.0, 448}
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x447A0000UL, 0xC47A0000UL, 0x7EFEUL)] // ±1000 -> ±448
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x7F800000UL, 0x7FC00000UL, 0x7E7FUL)] // Inf -> 448, NaN -> 0x7F
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x43E80000UL, 0x43E80001UL, 0x7E7EUL)] // 464 tie -> 448; above -> 480 -> sat 448
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x3F880000UL, 0x3F980000UL, 0x383AUL)] // 1.0625 -> 1.0, 1.1875 -> 1.25
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x3A800000UL, 0x3B400000UL, 0x0002UL)] // 2^-10 tie -> 0; 3*2^-10 -> 2*2^-9
    [TestCase("cvt.rn.satfinite.e4m3x2.f32", 0x3B000000UL, 0xBB000000UL, 0x0181UL)] // ±2^-9 = ±smallest subnormal
    [TestCase("cvt.rn.satfinite.relu.e4m3x2.f32", 0xBF800000UL, 0x7FC00000UL, 0x007FUL)]
    [TestCase("cvt.rn.satfinite.e5m2x2.f32", 0x3F800000UL, 0x47600000UL, 0x3C7BUL)] // {1.0, 57344}
    [TestCase("cvt.rn.satfinite.e5m2x2.f32", 0xFF800000UL, 0x7FC00000UL, 0xFB7FUL)] // -Inf -> -max, NaN
    [TestCase("cvt.rn.satfinite.e5m2x2.f32", 0x47700000UL, 0x37800000UL, 0x7B01UL)] // 61440 -> sat; 2^-16 subnormal
    [TestCase("cvt.rn.satfinite.e5m2x2.f32", 0x3F900000UL, 0x3FB00000UL, 0x3C3EUL)] // 1.125 tie -> 1.0; 1.375 tie -> 1.5
    public void ConvertsTwoSources(string opcode, ulong a, ulong b, ulong expected) =>
        Assert.That(Cvt.Convert2(CvtSpec.Parse(opcode), a, b), Is.EqualTo(expected), opcode);

    // One-source packs: f16x2 -> f8x2 (upper half to upper byte) and back, exactly.
    [TestCase("cvt.rn.satfinite.e4m3x2.f16x2", 0x40003C00UL, 0x4038UL)]  // {lo 1.0, hi 2.0}
    [TestCase("cvt.rn.satfinite.e4m3x2.f16x2", 0x7C00FC00UL, 0x7EFEUL)]  // ±Inf -> ±448
    [TestCase("cvt.rn.satfinite.e5m2x2.f16x2", 0x7E003C00UL, 0x7F3CUL)]
    [TestCase("cvt.rn.satfinite.e4m3x2.bf16x2", 0x40003F80UL, 0x4038UL)]
    [TestCase("cvt.rn.f16x2.e4m3x2", 0x4038UL, 0x40003C00UL)]
    [TestCase("cvt.rn.f16x2.e4m3x2", 0xFE01UL, 0xDF001800UL)]            // -448, 2^-9
    [TestCase("cvt.rn.f16x2.e4m3x2", 0x7FFFUL, 0x7FFF7FFFUL)]            // both NaN
    [TestCase("cvt.rn.f16x2.e5m2x2", 0x7C01UL, 0x7C000100UL)]            // Inf, 2^-16 (f16 subnormal)
    [TestCase("cvt.rn.f16x2.e5m2x2", 0x7F3CUL, 0x7FFF3C00UL)]
    [TestCase("cvt.rn.relu.f16x2.e4m3x2", 0xB838UL, 0x00003C00UL)]
    public void ConvertsPackedOneSource(string opcode, ulong src, ulong expected) =>
        Assert.That(Cvt1(opcode, src), Is.EqualTo(expected), opcode);

    [Test]
    public void FormatsKnowTheirEdges()
    {
        // e4m3: no infinity, S.1111.111 is the only NaN, S.1111.110 = 448 the largest value.
        Assert.That(FpFormat.E4M3.MaxFinite, Is.EqualTo(0x7EUL));
        Assert.That(FpFormat.E4M3.ToDouble(0x7E), Is.EqualTo(448.0));
        Assert.That(FpFormat.E4M3.ToDouble(0x78), Is.EqualTo(256.0));        // S.1111.000 is finite
        Assert.That(FpFormat.E4M3.Classify(0xFF), Is.EqualTo(FpClass.NaN));
        Assert.That(FpFormat.E4M3.ToDouble(0x01), Is.EqualTo(1.0 / 512));
        // e5m2: IEEE-like, 0x7C = Inf, 0x7B = 57344.
        Assert.That(FpFormat.E5M2.Classify(0x7C), Is.EqualTo(FpClass.Infinite));
        Assert.That(FpFormat.E5M2.Classify(0x7D), Is.EqualTo(FpClass.NaN));
        Assert.That(FpFormat.E5M2.ToDouble(FpFormat.E5M2.MaxFinite), Is.EqualTo(57344.0));
        Assert.That(FpFormat.F16.MaxFinite, Is.EqualTo(0x7BFFUL));
        Assert.That(FpFormat.BF16.MaxFinite, Is.EqualTo(0x7F7FUL));
        Assert.That(FpFormat.F32.MaxFinite, Is.EqualTo(0x7F7FFFFFUL));
        Assert.That(FpFormat.F64Hi.MaxFinite, Is.EqualTo(0x7FEFFFFFUL));
        Assert.That(FpFormat.F16.FlushSubnormal(0x83FF), Is.EqualTo(0x8000UL));
        Assert.That(FpFormat.F16.FlushSubnormal(0x8400), Is.EqualTo(0x8400UL));
    }

    [Test]
    public void ParsesModifiersInAnyOrder()
    {
        CvtSpec s = CvtSpec.Parse("cvt.rn.satfinite.relu.e4m3x2.f32");
        Assert.That((s.Dst, s.Src, s.Rounding, s.SatFinite, s.Relu, s.Sat, s.Ftz),
            Is.EqualTo((CvtType.E4M3x2, CvtType.F32, CvtRounding.Rn, true, true, false, false)));
        Assert.That(s.TwoSources, Is.True);
        CvtSpec late = CvtSpec.Parse("cvt.f64.bf16.rp");   // the ISA's own example order
        Assert.That((late.Dst, late.Src, late.Rounding), Is.EqualTo((CvtType.F64, CvtType.BF16, CvtRounding.Rp)));
        Assert.That(CvtSpec.Parse("cvt.rn.satfinite.e4m3x2.f16x2").TwoSources, Is.False);
        Assert.That(CvtSpec.Parse("cvt.rzi.ftz.s32.f32").Ftz, Is.True);
        Assert.That(CvtSpec.Parse("cvt.rn.f16x2.f32").ToString(), Is.EqualTo("cvt.rn.f16x2.f32"));
    }

    [TestCase("cvt.f16.f32")]                 // narrowing needs a rounding
    [TestCase("cvt.s32.f32")]                 // float-to-int needs an integer rounding
    [TestCase("cvt.rn.s32.f32")]
    [TestCase("cvt.f32.s32")]                 // int-to-float needs a float rounding
    [TestCase("cvt.rni.f32.s32")]
    [TestCase("cvt.rn.e4m3x2.f32")]           // .satfinite is mandatory
    [TestCase("cvt.rn.s32.s8")]
    [TestCase("cvt.rn.f16x2.f16")]
    [TestCase("cvt.rn.xyz.f32.f32")]
    [TestCase("cvt.f32")]
    [TestCase("mov.f32.f32")]
    public void RejectsIllegalOpcodes(string opcode) =>
        Assert.Throws<FormatException>(() => CvtSpec.Parse(opcode));

    [Test]
    public void OneAndTwoSourceEntriesAreNotInterchangeable()
    {
        Assert.Throws<ArgumentException>(() => Cvt.Convert(CvtSpec.Parse("cvt.rn.f16x2.f32"), 0));
        Assert.Throws<ArgumentException>(() => Cvt.Convert2(CvtSpec.Parse("cvt.rn.f16.f32"), 0, 0));
    }

    // Every f16 value survives f16 -> f32 -> f16 exactly (NaNs become the canonical NaN).
    [Test]
    public void EveryF16RoundTripsThroughF32()
    {
        CvtSpec up = CvtSpec.Parse("cvt.f32.f16"), down = CvtSpec.Parse("cvt.rn.f16.f32");
        for (uint h = 0; h <= 0xFFFF; h++)
        {
            bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
            ulong back = Cvt.Convert(down, Cvt.Convert(up, h));
            Assert.That(back, Is.EqualTo(nan ? 0x7FFFUL : h), $"0x{h:X4}");
        }
    }

    // Every e4m3 and e5m2 code survives f8 -> f16 -> f8 exactly (NaNs become 0x7F).
    [TestCase(false)]
    [TestCase(true)]
    public void EveryFp8RoundTripsThroughF16(bool e5m2)
    {
        string t = e5m2 ? "e5m2x2" : "e4m3x2";
        CvtSpec up = CvtSpec.Parse($"cvt.rn.f16x2.{t}"), down = CvtSpec.Parse($"cvt.rn.satfinite.{t}.f16x2");
        for (uint code = 0; code <= 0xFF; code++)
        {
            bool nan = e5m2 ? (code & 0x7C) == 0x7C && (code & 3) != 0 : (code & 0x7F) == 0x7F;
            bool inf = e5m2 && (code & 0x7F) == 0x7C;
            ulong expected = nan ? 0x7FUL : inf ? (code & 0x80) | 0x7BUL : code;   // satfinite: Inf -> max
            ulong back = Cvt.Convert(down, Cvt.Convert(up, code | (code << 8)));
            Assert.That(back, Is.EqualTo(expected | (expected << 8)), $"{t} 0x{code:X2}");
        }
    }
}
