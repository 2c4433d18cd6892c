// mma.sync.aligned.{m16n8k8, m16n8k16, m16n8k32}.row.col for f16/bf16 (f32 or f16 accumulators),
// s8/u8 (s32 accumulators, wrapping or .satfinite) and e4m3/e5m2 (f32 accumulators, sm_89).
// ISA sections: "Matrix Fragments for mma.m16n8k8", "Matrix Fragments for mma.m16n8k16 with floating
// point type", "Matrix Fragments for mma.m16n8k16 with integer type" (which also covers .e4m3/.e5m2),
// "Matrix Fragments for mma.m16n8k32", and "Warp-level matrix multiply-accumulate instructions: mma"
// (".satfinite: clamped to the min/max 32-bit signed integer; otherwise, if the accumulation would
// overflow, the value wraps"; for floating point "the accumulation order, rounding and handling of
// subnormal inputs is unspecified").
// Fragments are register-major spans: frag[reg * 32 + lane]. Within a register the elements are
// "low to high": element 2r in bits 0..15 and 2r+1 in bits 16..31 (16-bit types), element 4r+j in
// bits 8j..8j+7 (8-bit types). Every layout below is the ISA's formula with
// groupID = lane >> 2 and threadID_in_group = lane % 4.
//
// Floating-point model: every product is exact in double (f16*f16 has 22 bits, fp8 products fewer),
// the sum is accumulated in double in the fixed order c, k = 0, 1, ..., K-1, and the result is
// rounded once to the accumulator type (NaN -> canonical NaN; subnormals kept). That is the exact
// result correctly rounded unless the sum cancels heavily (double keeps 53 bits). NVIDIA's tensor
// cores instead align the addends to the largest exponent and truncate them to about f32 precision,
// so a GPU result may differ from ours by a few ulp of max(|c|, |a_k*b_k|): compare with a tolerance
// of roughly (K/4 + 2) * ulp_f32(|c| + sum |a_k*b_k|), not bit for bit. Integer mma is exact.
using System.Runtime.CompilerServices;

namespace Zoetrope.Emulator.Isa;

/// <summary>The fragment layout of one operand of one mma shape, from the ISA's formulas.</summary>
internal sealed class MmaLayout
{
    private MmaLayout(string name, int rows, int cols, int elements, int elementBits, Func<int, int, (int Row, int Col)> map)
    {
        Name = name;
        Rows = rows;
        Cols = cols;
        ElementsPerLane = elements;
        ElementBits = elementBits;
        Map = map;
        Registers = elements * elementBits / 32;
        Index = new int[32 * elements];
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < elements; i++)
            {
                (int r, int c) = map(lane, i);
                Index[lane * elements + i] = r * cols + c;
            }
        }
    }

    public string Name { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int ElementsPerLane { get; }
    public int ElementBits { get; }
    public int Registers { get; }
    /// <summary>(lane, element index i) -> (row, col) of the matrix.</summary>
    public Func<int, int, (int Row, int Col)> Map { get; }
    // lane * ElementsPerLane + i -> row * Cols + col
    private int[] Index { get; }

    public int ElementsPerRegister => 32 / ElementBits;

    /// <summary>The register (0-based) and bit offset holding element i.</summary>
    public (int Register, int Shift) Slot(int i) => (i / ElementsPerRegister, (i % ElementsPerRegister) * ElementBits);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int At(int lane, int i) => Index[lane * ElementsPerLane + i];

    private static int G(int lane) => lane >> 2;
    private static int T(int lane) => lane % 4;

    // m16n8k16 .f16/.bf16 A: row groupID for a0,a1,a4,a5, else +8; col tig*2 + (i&1), +8 for i >= 4.
    public static readonly MmaLayout A16816F16 = new("m16n8k16 A f16", 16, 16, 8, 16,
        (l, i) => (G(l) + (i is >= 2 and < 4 or >= 6 ? 8 : 0), T(l) * 2 + (i & 1) + (i >= 4 ? 8 : 0)));

    // m16n8k16 .f16/.bf16 B: row tig*2 + (i&1), +8 for i >= 2; col groupID.
    public static readonly MmaLayout B16816F16 = new("m16n8k16 B f16", 16, 8, 4, 16,
        (l, i) => (T(l) * 2 + (i & 1) + (i >= 2 ? 8 : 0), G(l)));

    // m16n8k8 .f16/.bf16 A: row groupID for a0,a1, +8 for a2,a3; col tig*2 + (i&1).
    public static readonly MmaLayout A1688F16 = new("m16n8k8 A f16", 16, 8, 4, 16,
        (l, i) => (G(l) + (i >= 2 ? 8 : 0), T(l) * 2 + (i & 1)));

    // m16n8k8 .f16/.bf16 B: row tig*2 + (i&1); col groupID.
    public static readonly MmaLayout B1688F16 = new("m16n8k8 B f16", 8, 8, 2, 16,
        (l, i) => (T(l) * 2 + (i & 1), G(l)));

    // m16n8k16 .s8/.u8/.e4m3/.e5m2 A: row groupID for i < 4, +8 for i >= 4; col tig*4 + (i&3).
    public static readonly MmaLayout A16816I8 = new("m16n8k16 A i8", 16, 16, 8, 8,
        (l, i) => (G(l) + (i >= 4 ? 8 : 0), T(l) * 4 + (i & 3)));

    // m16n8k16 .s8/.u8/.e4m3/.e5m2 B: row tig*4 + i; col groupID.
    public static readonly MmaLayout B16816I8 = new("m16n8k16 B i8", 16, 8, 4, 8,
        (l, i) => (T(l) * 4 + i, G(l)));

    // m16n8k32 .s8/.u8/.e4m3/.e5m2 A: row groupID for 0 <= i < 4 || 8 <= i < 12, else +8;
    // col tig*4 + (i&3), +16 for i >= 8.
    public static readonly MmaLayout A16832I8 = new("m16n8k32 A i8", 16, 32, 16, 8,
        (l, i) => (G(l) + (i is (>= 4 and < 8) or >= 12 ? 8 : 0), T(l) * 4 + (i & 3) + (i >= 8 ? 16 : 0)));

    // m16n8k32 .s8/.u8/.e4m3/.e5m2 B: row tig*4 + (i&3), +16 for i >= 4; col groupID.
    public static readonly MmaLayout B16832I8 = new("m16n8k32 B i8", 32, 8, 8, 8,
        (l, i) => (T(l) * 4 + (i & 3) + (i >= 4 ? 16 : 0), G(l)));

    // C/D of every m16n8 shape: row groupID for c0,c1, +8 for c2,c3; col tig*2 + (i&1).
    // As f32/s32 one element per register; as f16 two per register (c0,c1 | c2,c3).
    public static readonly MmaLayout C16x8F32 = new("m16n8 C/D 32-bit", 16, 8, 4, 32,
        (l, i) => (G(l) + (i >= 2 ? 8 : 0), T(l) * 2 + (i & 1)));

    public static readonly MmaLayout C16x8F16 = new("m16n8 C/D f16", 16, 8, 4, 16,
        (l, i) => (G(l) + (i >= 2 ? 8 : 0), T(l) * 2 + (i & 1)));
}

internal static class Mma
{
    /// <summary>mma.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32: a 4 regs, b 2, c 4 (f32), d 4.</summary>
    internal static void M16N8K16F32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d, bool bf16) =>
        Float(MmaLayout.A16816F16, MmaLayout.B16816F16, HalfOps.Format(bf16), HalfOps.Format(bf16), a, b, c, cF16: false, d, dF16: false);

    /// <summary>mma.m16n8k16.row.col.f16.f16.f16.f16: a 4 regs, b 2, c 2 (f16x2), d 2.</summary>
    internal static void M16N8K16F16(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d) =>
        Float(MmaLayout.A16816F16, MmaLayout.B16816F16, FpFormat.F16, FpFormat.F16, a, b, c, cF16: true, d, dF16: true);

    /// <summary>mma.m16n8k8.row.col.f32.{f16,bf16}.{f16,bf16}.f32: a 2 regs, b 1, c 4, d 4.</summary>
    internal static void M16N8K8F32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d, bool bf16) =>
        Float(MmaLayout.A1688F16, MmaLayout.B1688F16, HalfOps.Format(bf16), HalfOps.Format(bf16), a, b, c, cF16: false, d, dF16: false);

    /// <summary>mma.m16n8k32.row.col.f32.{e4m3,e5m2}.{e4m3,e5m2}.f32: a 4 regs, b 2, c 4, d 4.</summary>
    internal static void M16N8K32Fp8F32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d, bool aE5M2, bool bE5M2) =>
        Float(MmaLayout.A16832I8, MmaLayout.B16832I8, Fp8(aE5M2), Fp8(bE5M2), a, b, c, cF16: false, d, dF16: false);

    /// <summary>mma.m16n8k16.row.col.f32.{e4m3,e5m2}.{e4m3,e5m2}.f32: a 2 regs, b 1, c 4, d 4.</summary>
    internal static void M16N8K16Fp8F32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d, bool aE5M2, bool bE5M2) =>
        Float(MmaLayout.A16816I8, MmaLayout.B16816I8, Fp8(aE5M2), Fp8(bE5M2), a, b, c, cF16: false, d, dF16: false);

    /// <summary>mma.m16n8k32.row.col{.satfinite}.s32.{s8,u8}.{s8,u8}.s32: a 4 regs, b 2, c 4, d 4.</summary>
    internal static void M16N8K32S32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d,
        bool aSigned, bool bSigned, bool satfinite) =>
        Integer(MmaLayout.A16832I8, MmaLayout.B16832I8, a, b, c, d, aSigned, bSigned, satfinite);

    /// <summary>mma.m16n8k16.row.col{.satfinite}.s32.{s8,u8}.{s8,u8}.s32: a 2 regs, b 1, c 4, d 4.</summary>
    internal static void M16N8K16S32(ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d,
        bool aSigned, bool bSigned, bool satfinite) =>
        Integer(MmaLayout.A16816I8, MmaLayout.B16816I8, a, b, c, d, aSigned, bSigned, satfinite);

    private static FpFormat Fp8(bool e5m2) => e5m2 ? FpFormat.E5M2 : FpFormat.E4M3;

    /// <summary>
    /// Any floating-point m16n8kK: A and B elements in the given formats, C and D as f32 (one per
    /// register) or f16 (two per register), e.g. .f32.f16.f16.f16 is cF16 true, dF16 false.
    /// </summary>
    internal static void Float(MmaLayout aLayout, MmaLayout bLayout, FpFormat aFormat, FpFormat bFormat,
        ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, bool cF16, Span<uint> d, bool dF16)
    {
        int k = aLayout.Cols;
        MmaLayout cLayout = cF16 ? MmaLayout.C16x8F16 : MmaLayout.C16x8F32;
        MmaLayout dLayout = dF16 ? MmaLayout.C16x8F16 : MmaLayout.C16x8F32;
        CheckLengths(aLayout, bLayout, cLayout, dLayout, a, b, c, d);
        // Unpack everything before writing d, so d may alias c (or anything else).
        Span<double> am = stackalloc double[16 * k];
        Span<double> bm = stackalloc double[k * 8];
        Span<double> acc = stackalloc double[16 * 8];
        UnpackFloat(aLayout, aFormat, a, am);
        UnpackFloat(bLayout, bFormat, b, bm);
        UnpackFloat(cLayout, cF16 ? FpFormat.F16 : FpFormat.F32, c, acc);
        for (int m = 0; m < 16; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                double s = acc[m * 8 + n];
                for (int kk = 0; kk < k; kk++)
                {
                    s += am[m * k + kk] * bm[kk * 8 + n];   // exact product, double sum
                }
                acc[m * 8 + n] = s;
            }
        }
        FpFormat dFormat = dF16 ? FpFormat.F16 : FpFormat.F32;
        d[..(dLayout.Registers * 32)].Clear();
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < 4; i++)
            {
                (int reg, int shift) = dLayout.Slot(i);
                ulong bits = dFormat.FromDouble(acc[dLayout.At(lane, i)]);
                d[reg * 32 + lane] |= (uint)bits << shift;
            }
        }
    }

    /// <summary>Any integer m16n8kK with 8-bit A/B and s32 C/D.</summary>
    internal static void Integer(MmaLayout aLayout, MmaLayout bLayout, ReadOnlySpan<uint> a, ReadOnlySpan<uint> b,
        ReadOnlySpan<uint> c, Span<uint> d, bool aSigned, bool bSigned, bool satfinite)
    {
        int k = aLayout.Cols;
        MmaLayout cLayout = MmaLayout.C16x8F32;
        CheckLengths(aLayout, bLayout, cLayout, cLayout, a, b, c, d);
        Span<int> am = stackalloc int[16 * k];
        Span<int> bm = stackalloc int[k * 8];
        Span<long> acc = stackalloc long[16 * 8];
        UnpackInt(aLayout, aSigned, a, am);
        UnpackInt(bLayout, bSigned, b, bm);
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < 4; i++)
            {
                acc[cLayout.At(lane, i)] = (int)c[i * 32 + lane];
            }
        }
        for (int m = 0; m < 16; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                long s = acc[m * 8 + n];
                for (int kk = 0; kk < k; kk++)
                {
                    s += (long)am[m * k + kk] * bm[kk * 8 + n];   // |sum| < 2^31 + 32 * 2^16: no overflow
                }
                acc[m * 8 + n] = s;
            }
        }
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < 4; i++)
            {
                long s = acc[cLayout.At(lane, i)];
                d[i * 32 + lane] = satfinite
                    ? (uint)(int)Math.Clamp(s, int.MinValue, int.MaxValue)
                    : unchecked((uint)s);                          // wraps modulo 2^32
            }
        }
    }

    private static void UnpackFloat(MmaLayout layout, FpFormat format, ReadOnlySpan<uint> frag, Span<double> matrix)
    {
        uint elementMask = layout.ElementBits == 32 ? uint.MaxValue : (1u << layout.ElementBits) - 1;
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < layout.ElementsPerLane; i++)
            {
                (int reg, int shift) = layout.Slot(i);
                uint bits = (frag[reg * 32 + lane] >> shift) & elementMask;
                matrix[layout.At(lane, i)] = format.ToDouble(bits);
            }
        }
    }

    private static void UnpackInt(MmaLayout layout, bool signed, ReadOnlySpan<uint> frag, Span<int> matrix)
    {
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < layout.ElementsPerLane; i++)
            {
                (int reg, int shift) = layout.Slot(i);
                uint bits = (frag[reg * 32 + lane] >> shift) & 0xFF;
                matrix[layout.At(lane, i)] = signed ? (sbyte)bits : (int)bits;
            }
        }
    }

    private static void CheckLengths(MmaLayout aL, MmaLayout bL, MmaLayout cL, MmaLayout dL,
        ReadOnlySpan<uint> a, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c, Span<uint> d)
    {
        if (a.Length < aL.Registers * 32 || b.Length < bL.Registers * 32 || c.Length < cL.Registers * 32 || d.Length < dL.Registers * 32)
        {
            throw new ArgumentException(
                $"mma fragments need {aL.Registers}, {bL.Registers}, {cL.Registers}, {dL.Registers} registers x 32 lanes for a, b, c, d.");
        }
    }
}
