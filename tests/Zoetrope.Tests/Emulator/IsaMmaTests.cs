// mma (Isa/Mma.cs). The fragment layouts are restated here from the ISA text, independently of
// MmaLayout, and used both to check MmaLayout and to pack the operands of whole-warp products:
// A and B hold distinct values, so a wrong lane -> element mapping produces a wrong D.
// ISA sections: "Matrix Fragments for mma.m16n8k8", "... mma.m16n8k16 with floating point type",
// "... mma.m16n8k16 with integer type", "... mma.m16n8k32" (groupID = laneid >> 2,
// threadID_in_group = laneid % 4; elements are numbered low to high within each register).
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaMmaTests
{
    private delegate (int Row, int Col) Layout(int lane, int i);

    private static int G(int lane) => lane >> 2;
    private static int T(int lane) => lane % 4;

    // --- The ISA's formulas, written out as the ISA states them. ---

    // m16n8k16 f16/bf16 A: row = groupID for 0 <= i < 2 || 4 <= i < 6, else groupID + 8;
    // col = tig*2 + (i & 1) for i < 4, tig*2 + (i & 1) + 8 for i >= 4.
    private static (int, int) IsaA16816F16(int l, int i) =>
        ((i < 2 || (i >= 4 && i < 6)) ? G(l) : G(l) + 8, i < 4 ? T(l) * 2 + (i & 1) : T(l) * 2 + (i & 1) + 8);

    // m16n8k16 f16/bf16 B: row = tig*2 + (i & 1) for i < 2, + 8 for i >= 2; col = groupID.
    private static (int, int) IsaB16816F16(int l, int i) => (i < 2 ? T(l) * 2 + (i & 1) : T(l) * 2 + (i & 1) + 8, G(l));

    // m16n8k8 f16/bf16 A: row = groupID for a0, a1, groupID + 8 for a2, a3; col = tig*2 + (i & 1).
    private static (int, int) IsaA1688F16(int l, int i) => (i < 2 ? G(l) : G(l) + 8, T(l) * 2 + (i & 1));

    // m16n8k8 f16/bf16 B: row = tig*2 + i; col = groupID.
    private static (int, int) IsaB1688F16(int l, int i) => (T(l) * 2 + i, G(l));

    // m16n8k16 integer A: row = groupID for i < 4, + 8 for i >= 4; col = tig*4 + (i & 3).
    private static (int, int) IsaA16816I8(int l, int i) => (i < 4 ? G(l) : G(l) + 8, T(l) * 4 + (i & 3));

    // m16n8k16 integer B: row = tig*4 + i; col = groupID.
    private static (int, int) IsaB16816I8(int l, int i) => (T(l) * 4 + i, G(l));

    // m16n8k32 8-bit A: row = groupID for 0 <= i < 4 || 8 <= i < 12, else groupID + 8;
    // col = tig*4 + (i & 3) for i < 8, tig*4 + (i & 3) + 16 for i >= 8.
    private static (int, int) IsaA16832I8(int l, int i) =>
        ((i < 4 || (i >= 8 && i < 12)) ? G(l) : G(l) + 8, i < 8 ? T(l) * 4 + (i & 3) : T(l) * 4 + (i & 3) + 16);

    // m16n8k32 8-bit B: row = tig*4 + (i & 3) for i < 4, + 16 for i >= 4; col = groupID.
    private static (int, int) IsaB16832I8(int l, int i) => (i < 4 ? T(l) * 4 + (i & 3) : T(l) * 4 + (i & 3) + 16, G(l));

    // C/D: row = groupID for i < 2, groupID + 8 for i >= 2; col = tig*2 + (i & 1).
    private static (int, int) IsaC(int l, int i) => (i < 2 ? G(l) : G(l) + 8, T(l) * 2 + (i & 1));

    // (layout, the ISA formula it must equal); tests take an index because MmaLayout is internal.
    private static readonly (MmaLayout Layout, Layout Isa)[] Layouts =
    [
        (MmaLayout.A16816F16, IsaA16816F16),
        (MmaLayout.B16816F16, IsaB16816F16),
        (MmaLayout.A1688F16, IsaA1688F16),
        (MmaLayout.B1688F16, IsaB1688F16),
        (MmaLayout.A16816I8, IsaA16816I8),
        (MmaLayout.B16816I8, IsaB16816I8),
        (MmaLayout.A16832I8, IsaA16832I8),
        (MmaLayout.B16832I8, IsaB16832I8),
        (MmaLayout.C16x8F32, IsaC),
        (MmaLayout.C16x8F16, IsaC),
    ];

    [Test]
    public void LayoutIsTheIsaFormulaAndABijection([Range(0, 9)] int which)
    {
        (MmaLayout layout, Layout isa) = Layouts[which];
        var seen = new HashSet<(int, int)>();
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < layout.ElementsPerLane; i++)
            {
                Assert.That(layout.Map(lane, i), Is.EqualTo(isa(lane, i)), $"{layout.Name} lane {lane} element {i}");
                (int r, int c) = isa(lane, i);
                Assert.That(r, Is.InRange(0, layout.Rows - 1));
                Assert.That(c, Is.InRange(0, layout.Cols - 1));
                Assert.That(seen.Add((r, c)), Is.True, $"{layout.Name}: ({r},{c}) held twice");
            }
        }
        Assert.That(seen, Has.Count.EqualTo(layout.Rows * layout.Cols));
    }

    [Test]
    public void SpotChecksOfTheIsaFigures()
    {
        // m16n8k16 A, lane 5 (groupID 1, threadID_in_group 1): a0,a1 = (1,2),(1,3); a2,a3 = (9,2),(9,3);
        // a4,a5 = (1,10),(1,11); a6,a7 = (9,10),(9,11).
        (int, int)[] a5 = [(1, 2), (1, 3), (9, 2), (9, 3), (1, 10), (1, 11), (9, 10), (9, 11)];
        Assert.That(Enumerable.Range(0, 8).Select(i => MmaLayout.A16816F16.Map(5, i)), Is.EqualTo(a5));
        // m16n8k16 B, lane 30 (groupID 7, tig 2): b0,b1 = rows 4,5 of column 7; b2,b3 = rows 12,13.
        (int, int)[] b30 = [(4, 7), (5, 7), (12, 7), (13, 7)];
        Assert.That(Enumerable.Range(0, 4).Select(i => MmaLayout.B16816F16.Map(30, i)), Is.EqualTo(b30));
        // C/D, lane 31: c0,c1 = (7,6),(7,7); c2,c3 = (15,6),(15,7).
        (int, int)[] c31 = [(7, 6), (7, 7), (15, 6), (15, 7)];
        Assert.That(Enumerable.Range(0, 4).Select(i => MmaLayout.C16x8F32.Map(31, i)), Is.EqualTo(c31));
        // m16n8k32 A, lane 6 (groupID 1, tig 2): a0..a3 = row 1 cols 8..11; a4..a7 = row 9 cols 8..11;
        // a8..a11 = row 1 cols 24..27; a12..a15 = row 9 cols 24..27.
        Assert.That(MmaLayout.A16832I8.Map(6, 0), Is.EqualTo((1, 8)));
        Assert.That(MmaLayout.A16832I8.Map(6, 7), Is.EqualTo((9, 11)));
        Assert.That(MmaLayout.A16832I8.Map(6, 8), Is.EqualTo((1, 24)));
        Assert.That(MmaLayout.A16832I8.Map(6, 15), Is.EqualTo((9, 27)));
        // m16n8k32 B, lane 6: b0..b3 = rows 8..11 of column 1, b4..b7 = rows 24..27.
        Assert.That(MmaLayout.B16832I8.Map(6, 0), Is.EqualTo((8, 1)));
        Assert.That(MmaLayout.B16832I8.Map(6, 4), Is.EqualTo((24, 1)));
        // Element i sits in register i / (32 / bits), low to high.
        Assert.That(MmaLayout.A16816F16.Slot(5), Is.EqualTo((2, 16)));
        Assert.That(MmaLayout.A16832I8.Slot(13), Is.EqualTo((3, 8)));
        Assert.That(MmaLayout.C16x8F16.Slot(3), Is.EqualTo((1, 16)));
    }

    // --- Packing whole matrices into fragments with the ISA formulas. ---

    private static uint[] Pack(Func<int, int, uint> elementBits, Layout isa, int elements, int bits)
    {
        int perReg = 32 / bits;
        var frag = new uint[elements / perReg * 32];
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < elements; i++)
            {
                (int r, int c) = isa(lane, i);
                frag[(i / perReg) * 32 + lane] |= elementBits(r, c) << ((i % perReg) * bits);
            }
        }
        return frag;
    }

    private static double[,] Unpack(uint[] frag, Layout isa, Func<uint, double> decode, bool f16)
    {
        var m = new double[16, 8];
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < 4; i++)
            {
                (int r, int c) = isa(lane, i);
                uint word = f16 ? frag[(i / 2) * 32 + lane] >> ((i % 2) * 16) : frag[i * 32 + lane];
                m[r, c] = decode(f16 ? word & 0xFFFF : word);
            }
        }
        return m;
    }

    private static uint F16Bits(double v) => BitConverter.HalfToUInt16Bits((Half)v);
    private static uint Bf16Bits(double v) => BitConverter.SingleToUInt32Bits((float)v) >> 16;   // exact for small values
    private static uint F32Bits(double v) => BitConverter.SingleToUInt32Bits((float)v);
    private static double FromF32(uint b) => BitConverter.UInt32BitsToSingle(b);
    private static double FromF16(uint b) => (double)BitConverter.UInt16BitsToHalf((ushort)b);

    // Distinct small integers: every product and sum is exact in f16/bf16/f32.
    private static double AVal(int r, int c) => ((r * 5 + c * 3) % 11) - 5;
    private static double BVal(int r, int c) => ((r * 7 + c * 2) % 9) - 4;
    private static double CVal(int r, int c) => r * 8 + c - 40;

    // Compares D with A*B + C summed exactly (in double: every case here is exact) and rounded once
    // to the accumulator type (f32 unless told otherwise).
    private static void AssertProduct(double[,] d, int k, Func<int, int, double> a, Func<int, int, double> b, Func<int, int, double> c,
        Func<double, double>? round = null)
    {
        round ??= x => (float)x;
        for (int m = 0; m < 16; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                double want = c(m, n);
                for (int kk = 0; kk < k; kk++)
                {
                    want += a(m, kk) * b(kk, n);
                }
                Assert.That(d[m, n], Is.EqualTo(round(want)), $"D[{m},{n}]");
            }
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void M16N8K16F32ComputesAxBPlusC(bool bf16)
    {
        Func<double, uint> enc = bf16 ? Bf16Bits : F16Bits;
        uint[] a = Pack((r, c) => enc(AVal(r, c)), IsaA16816F16, 8, 16);
        uint[] b = Pack((r, c) => enc(BVal(r, c)), IsaB16816F16, 4, 16);
        uint[] c = Pack((r, c) => F32Bits(CVal(r, c)), IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K16F32(a, b, c, d, bf16);
        AssertProduct(Unpack(d, IsaC, FromF32, f16: false), 16, AVal, BVal, CVal);
    }

    [Test]
    public void M16N8K16F16AccumulatesInF16Fragments()
    {
        uint[] a = Pack((r, c) => F16Bits(AVal(r, c)), IsaA16816F16, 8, 16);
        uint[] b = Pack((r, c) => F16Bits(BVal(r, c)), IsaB16816F16, 4, 16);
        uint[] c = Pack((r, c) => F16Bits(CVal(r, c)), IsaC, 4, 16);   // c0,c1 | c2,c3 as f16x2
        var d = new uint[2 * 32];
        Mma.M16N8K16F16(a, b, c, d);
        AssertProduct(Unpack(d, IsaC, FromF16, f16: true), 16, AVal, BVal, CVal, x => (double)(Half)x);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void M16N8K8F32ComputesAxBPlusC(bool bf16)
    {
        Func<double, uint> enc = bf16 ? Bf16Bits : F16Bits;
        uint[] a = Pack((r, c) => enc(AVal(r, c)), IsaA1688F16, 4, 16);
        uint[] b = Pack((r, c) => enc(BVal(r, c)), IsaB1688F16, 2, 16);
        uint[] c = Pack((r, c) => F32Bits(CVal(r, c)), IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K8F32(a, b, c, d, bf16);
        AssertProduct(Unpack(d, IsaC, FromF32, f16: false), 8, AVal, BVal, CVal);
    }

    [Test]
    public void DMayAliasCAndTheSumIsRoundedOnce()
    {
        // c = 2^24 and sixteen products of +1: 2^24 + 16 is an f32, but adding the ones one at a
        // time in f32 would leave 2^24 (each +1 is a tie to even). The model sums in double.
        uint[] a = Pack((r, c) => F16Bits(1), IsaA16816F16, 8, 16);
        uint[] b = Pack((r, c) => F16Bits(1), IsaB16816F16, 4, 16);
        uint[] cd = Pack((r, c) => F32Bits(16777216), IsaC, 4, 32);
        Mma.M16N8K16F32(a, b, cd, cd, bf16: false);
        Assert.That(cd, Is.All.EqualTo(F32Bits(16777232)));
    }

    [Test]
    public void FloatSpecialsPropagate()
    {
        // A[3,5] = Inf makes row 3 Inf (B > 0 there); A[4,0] = NaN makes row 4 the canonical NaN.
        uint[] a = Pack((r, c) => r == 3 && c == 5 ? 0x7C00u : r == 4 && c == 0 ? 0x7E00u : F16Bits(0), IsaA16816F16, 8, 16);
        uint[] b = Pack((r, c) => F16Bits(1), IsaB16816F16, 4, 16);
        uint[] c = new uint[4 * 32];
        var d = new uint[4 * 32];
        Mma.M16N8K16F32(a, b, c, d, bf16: false);
        double[,] m = Unpack(d, IsaC, x => x, f16: false);
        for (int n = 0; n < 8; n++)
        {
            Assert.That((uint)m[3, n], Is.EqualTo(0x7F80_0000u));
            Assert.That((uint)m[4, n], Is.EqualTo(0x7FFF_FFFFu));
            Assert.That((uint)m[5, n], Is.EqualTo(0u));
        }
    }

    // --- 8-bit integer ---

    private static double S8(int r, int c) => ((r * 37 + c * 11) % 256) - 128;   // spans -128..127
    private static double U8(int r, int c) => (r * 29 + c * 13) % 256;          // spans 0..255

    [TestCase(true, true)]
    [TestCase(true, false)]
    [TestCase(false, true)]
    [TestCase(false, false)]
    public void M16N8K32S32MultipliesSignedAndUnsignedBytes(bool aSigned, bool bSigned)
    {
        Func<int, int, double> av = aSigned ? S8 : U8, bv = bSigned ? (r, c) => S8(c, r) : (r, c) => U8(c, r);
        uint[] a = Pack((r, c) => (uint)(int)av(r, c) & 0xFF, IsaA16832I8, 16, 8);
        uint[] b = Pack((r, c) => (uint)(int)bv(r, c) & 0xFF, IsaB16832I8, 8, 8);
        uint[] c = Pack((r, c) => (uint)(int)CVal(r, c), IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K32S32(a, b, c, d, aSigned, bSigned, satfinite: false);
        AssertProduct(Unpack(d, IsaC, x => (int)x, f16: false), 32, av, bv, CVal, x => x);
    }

    [Test]
    public void M16N8K16S32MultipliesBytes()
    {
        uint[] a = Pack((r, c) => (uint)(int)S8(r, c) & 0xFF, IsaA16816I8, 8, 8);
        uint[] b = Pack((r, c) => (uint)(int)U8(c, r) & 0xFF, IsaB16816I8, 4, 8);
        uint[] c = Pack((r, c) => (uint)(int)CVal(r, c), IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K16S32(a, b, c, d, aSigned: true, bSigned: false, satfinite: false);
        AssertProduct(Unpack(d, IsaC, x => (int)x, f16: false), 16, S8, (r, c) => U8(c, r), CVal, x => x);
    }

    [TestCase(0x7F, 0x7F, int.MaxValue - 100, true, int.MaxValue)]          // 32 * 127 * 127 overflows up
    [TestCase(0x7F, 0x7F, int.MaxValue - 100, false, int.MinValue + 516027)] // ...and wraps without .satfinite
    [TestCase(0x80, 0x7F, int.MinValue + 100, true, int.MinValue)]          // 32 * -128 * 127 overflows down
    [TestCase(0x80, 0x7F, int.MinValue + 100, false, int.MaxValue - 520091)]
    [TestCase(0x80, 0x80, 0, true, 524288)]                                 // 32 * 128^2: no overflow
    public void SatfiniteClampsAndOtherwiseWraps(int aByte, int bByte, int c0, bool satfinite, int expected)
    {
        uint[] a = Pack((r, c) => (uint)aByte, IsaA16832I8, 16, 8);
        uint[] b = Pack((r, c) => (uint)bByte, IsaB16832I8, 8, 8);
        uint[] c = Pack((r, c) => (uint)c0, IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K32S32(a, b, c, d, aSigned: true, bSigned: true, satfinite);
        Assert.That(d.Select(x => (int)x), Is.All.EqualTo(expected));
    }

    [Test]
    public void ByteSignednessIsPerOperand()
    {
        uint[] a = Pack((r, c) => 0xFFu, IsaA16832I8, 16, 8);   // -1 signed, 255 unsigned
        uint[] b = Pack((r, c) => 0x01u, IsaB16832I8, 8, 8);
        var c = new uint[4 * 32];
        var d = new uint[4 * 32];
        Mma.M16N8K32S32(a, b, c, d, aSigned: true, bSigned: true, satfinite: false);
        Assert.That(d.Select(x => (int)x), Is.All.EqualTo(-32));
        Mma.M16N8K32S32(a, b, c, d, aSigned: false, bSigned: true, satfinite: false);
        Assert.That(d.Select(x => (int)x), Is.All.EqualTo(32 * 255));
    }

    // --- FP8 ---

    // (code, value) pairs read off the formats: e4m3 = 2^(E-7)(1 + m/8), e5m2 = 2^(E-15)(1 + m/4).
    private static readonly (uint Code, double Value)[] E4M3 =
        [(0x00, 0), (0x30, 0.5), (0x38, 1), (0x3C, 1.5), (0x40, 2), (0x44, 3), (0x48, 4), (0xB8, -1), (0xC0, -2), (0x01, 1.0 / 512)];
    private static readonly (uint Code, double Value)[] E5M2 =
        [(0x00, 0), (0x38, 0.5), (0x3C, 1), (0x3E, 1.5), (0x40, 2), (0x42, 3), (0x44, 4), (0xBC, -1), (0xC0, -2), (0x01, 1.0 / 65536)];

    [TestCase(false, false)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(true, true)]
    public void M16N8K32Fp8DecodesEachOperandInItsFormat(bool aE5M2, bool bE5M2)
    {
        var ta = aE5M2 ? E5M2 : E4M3;
        var tb = bE5M2 ? E5M2 : E4M3;
        int Ia(int r, int c) => (r * 3 + c * 7) % ta.Length;
        int Ib(int r, int c) => (r * 5 + c * 3) % tb.Length;
        uint[] a = Pack((r, c) => ta[Ia(r, c)].Code, IsaA16832I8, 16, 8);
        uint[] b = Pack((r, c) => tb[Ib(r, c)].Code, IsaB16832I8, 8, 8);
        uint[] c = Pack((r, c) => F32Bits(CVal(r, c)), IsaC, 4, 32);
        var d = new uint[4 * 32];
        Mma.M16N8K32Fp8F32(a, b, c, d, aE5M2, bE5M2);
        AssertProduct(Unpack(d, IsaC, FromF32, f16: false), 32, (r, k) => ta[Ia(r, k)].Value, (k, n) => tb[Ib(k, n)].Value, CVal);
    }

    [Test]
    public void M16N8K16Fp8AndTheLargestCodes()
    {
        // 448 (e4m3 0x7E) * 57344 (e5m2 0x7B) = 49 * 2^19, exact; A row 0 only, B all that value.
        uint[] a = Pack((r, c) => r == 0 && c == 0 ? 0x7Eu : 0u, IsaA16816I8, 8, 8);
        uint[] b = Pack((r, c) => 0x7Bu, IsaB16816I8, 4, 8);
        var c = new uint[4 * 32];
        var d = new uint[4 * 32];
        Mma.M16N8K16Fp8F32(a, b, c, d, aE5M2: false, bE5M2: true);
        double[,] m = Unpack(d, IsaC, FromF32, f16: false);
        Assert.That(m[0, 3], Is.EqualTo(448.0 * 57344.0));
        Assert.That(m[1, 3], Is.EqualTo(0.0));
        // e4m3 0x7F is NaN: the whole row becomes the canonical NaN.
        a = Pack((r, c) => r == 2 && c == 9 ? 0x7Fu : 0x38u, IsaA16816I8, 8, 8);
        Mma.M16N8K16Fp8F32(a, b, c, d, aE5M2: false, bE5M2: true);
        double[,] raw = Unpack(d, IsaC, x => x, f16: false);
        Assert.That((uint)raw[2, 0], Is.EqualTo(0x7FFF_FFFFu));
        Assert.That(FromF32((uint)raw[1, 0]), Is.EqualTo(16 * 57344.0));
    }
}
