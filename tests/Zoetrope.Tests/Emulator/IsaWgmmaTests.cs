// wgmma.mma_async (Isa/Wgmma.cs, Exec/CtaRunner.Wgmma.cs), run as hand-written PTX by one
// warpgroup. The test lays A and B out in shared memory itself, the way a kernel (or TMA) does,
// from the ISA's "Shared Memory Matrix Layout" figures, stated here independently of the emulator's
// descriptor arithmetic: no swizzle = 8-row x 16-byte core matrices (kernels/hopper/wgmma_seed.cu's
// formula); 128B swizzle = rows of 128 bytes whose 16-byte chunk c sits at chunk c ^ (row % 8);
// 32B swizzle = rows of 32 bytes, chunk c at c ^ ((row / 4) % 2). D comes back in the ISA's
// accumulator figure (warp w rows 16w.., lane l rows 16w + l/4 (+8), columns 8j + 2(l%4) (+1)) and
// is compared with A·B computed here in doubles / longs from small exact values.
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Exec;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaWgmmaTests
{
    // --- element encodings of small exact values ---
    private static uint F16(double v) => BitConverter.HalfToUInt16Bits((Half)v);
    private static uint Bf16(double v) => BitConverter.SingleToUInt32Bits((float)v) >> 16;   // exact for these values

    private static uint E4m3(int v)
    {
        // e4m3: bias 7, 3 mantissa bits; small integers are exact.
        if (v == 0)
        {
            return 0;
        }
        uint s = v < 0 ? 0x80u : 0;
        int a = Math.Abs(v), e = 0;
        while (a >> (e + 1) != 0)
        {
            e++;
        }
        int m = (a << 3 >> e) - 8;
        return s | (uint)((e + 7) << 3) | (uint)m;
    }

    private static void Put(byte[] img, int offset, int bytes, uint bits)
    {
        for (int i = 0; i < bytes; i++)
        {
            img[offset + i] = (byte)(bits >> (8 * i));
        }
    }

    // --- layouts, as a kernel writes them ---

    // wgmma_seed.cu: two core matrices along K; core (i, j) at (2i + j) * 128: LBO 128, SBO 256.
    private static int SeedOffset(int row, int k) => (((row >> 3) * 2 + (k >> 3)) * 128) + ((row & 7) * 16) + ((k & 7) * 2);

    // A tile of rows of 128 bytes with the 128-byte swizzle (tile base 1024-aligned).
    private static int Sw128(int row, int byteInRow) => (row * 128) + ((((byteInRow >> 4) ^ (row & 7)) << 4) | (byteInRow & 15));

    // Rows of 64 bytes with the 64-byte swizzle (tile base 512-aligned): chunk c at c ^ ((row / 2) % 4).
    private static int Sw64(int row, int byteInRow) => (row * 64) + ((((byteInRow >> 4) ^ ((row >> 1) & 3)) << 4) | (byteInRow & 15));

    // Rows of 32 bytes with the 32-byte swizzle (tile base 256-aligned).
    private static int Sw32(int row, int byteInRow) => (row * 32) + ((((byteInRow >> 4) ^ ((row >> 2) & 1)) << 4) | (byteInRow & 15));

    private static ulong Desc(int start, int lbo, int sbo, int swizzle) =>
        (ulong)(uint)((start >> 4) & 0x3FFF) | ((ulong)(uint)((lbo >> 4) & 0x3FFF) << 16) | ((ulong)(uint)((sbo >> 4) & 0x3FFF) << 32) | ((ulong)(uint)swizzle << 62);

    // --- the kernel ---

    private sealed class Case
    {
        public required string Opcode { get; init; }
        public required int DRegs { get; init; }
        public required byte[] Image { get; init; }
        public required List<(ulong A, ulong B, bool ScaleD)> Steps { get; init; }
        /// <summary>Operands after scale-d (", 1, 1, 0, 0").</summary>
        public string Tail { get; init; } = "";
        public uint[]? AIn { get; init; }
        public uint[]? CIn { get; init; }
        public uint Threads { get; init; } = 128;
        public string BeforeWait { get; init; } = "";
        /// <summary>Runs the wgmma's only in threads 0..15 (a partial warp).</summary>
        public bool Partial { get; init; }
        public bool NoFence { get; init; }
    }

    private static string Ptx(Case c)
    {
        var s = new System.Text.StringBuilder();
        string dList = "{" + string.Join(", ", Enumerable.Range(0, c.DRegs).Select(i => $"%d{i}")) + "}";
        string aOp = c.AIn is null ? "%rd11" : "{%a0, %a1, %a2, %a3}";
        s.Append($$"""
            .visible .entry wg(.param .u64 img, .param .u32 words, .param .u64 ain, .param .u64 cin, .param .u64 out, .param .u64 desc)
            {
                .reg .b32 %r<16>;
                .reg .b64 %rd<16>;
                .reg .b32 %d<130>;
                .reg .b32 %a<4>;
                .reg .pred %p<4>;
                .shared .align 1024 .b8 smem[{{c.Image.Length}}];
                mov.u32 %r1, %tid.x;
                ld.param.u64 %rd1, [img];
                ld.param.u32 %r2, [words];
                mov.u32 %r3, %r1;
            $Lcopy:
                setp.ge.u32 %p1, %r3, %r2;
                @%p1 bra $Ldone;
                mul.wide.u32 %rd2, %r3, 4;
                add.s64 %rd3, %rd1, %rd2;
                ld.global.u32 %r4, [%rd3];
                mov.u32 %r5, smem;
                shl.b32 %r6, %r3, 2;
                add.u32 %r7, %r5, %r6;
                st.shared.u32 [%r7], %r4;
                add.u32 %r3, %r3, {{c.Threads}};
                bra $Lcopy;
            $Ldone:
                fence.proxy.async.shared::cta;
                bar.sync 0;
                ld.param.u64 %rd4, [cin];
                mul.wide.u32 %rd5, %r1, {{4 * c.DRegs}};
                add.s64 %rd6, %rd4, %rd5;
                ld.param.u64 %rd7, [ain];
                mul.wide.u32 %rd8, %r1, 16;
                add.s64 %rd9, %rd7, %rd8;
                ld.param.u64 %rd10, [desc];

            """);
        for (int i = 0; i < c.DRegs; i++)
        {
            s.Append($"    ld.global.u32 %d{i}, [%rd6+{4 * i}];\n");
        }
        for (int i = 0; i < 4; i++)
        {
            s.Append($"    ld.global.u32 %a{i}, [%rd9+{4 * i}];\n");
        }
        s.Append(c.NoFence ? "" : "    wgmma.fence.sync.aligned;\n");
        s.Append("    setp.lt.u32 %p3, %r1, 16;\n");
        for (int i = 0; i < c.Steps.Count; i++)
        {
            s.Append($"    ld.global.u64 %rd11, [%rd10+{16 * i}];\n    ld.global.u64 %rd12, [%rd10+{(16 * i) + 8}];\n");
            s.Append($"    mov.pred %p2, {(c.Steps[i].ScaleD ? 1 : 0)};\n");
            s.Append($"    {(c.Partial ? "@%p3 " : "")}{c.Opcode} {dList}, {aOp}, %rd12, %p2{c.Tail};\n");
        }
        s.Append("    wgmma.commit_group.sync.aligned;\n");
        s.Append(c.BeforeWait);
        s.Append("    wgmma.wait_group.sync.aligned 0;\n    ld.param.u64 %rd13, [out];\n    add.s64 %rd14, %rd13, %rd5;\n");
        for (int i = 0; i < c.DRegs; i++)
        {
            s.Append($"    st.global.u32 [%rd14+{4 * i}], %d{i};\n");
        }
        s.Append("    ret;\n}\n");
        return s.ToString();
    }

    private static (uint[] Out, LaunchStats Stats) Run(Case c)
    {
        using var h = new EmuHarness();
        var f = h.Load(Ptx(c), "wg");
        var img = new uint[c.Image.Length / 4];
        Buffer.BlockCopy(c.Image, 0, img, 0, c.Image.Length);
        var descs = c.Steps.SelectMany(s => new[] { s.A, s.B }).ToArray();
        ulong pImg = h.Upload(img), pA = h.Upload(c.AIn ?? new uint[128 * 4]), pC = h.Upload(c.CIn ?? new uint[128 * c.DRegs]);
        ulong pOut = h.Alloc<uint>(128 * c.DRegs), pDesc = h.Upload(descs);
        var stats = h.Launch(f, 1, c.Threads, pImg, (uint)img.Length, pA, pC, pOut, pDesc);
        return (h.Download<uint>(pOut, 128 * c.DRegs), stats);
    }

    // The ISA's accumulator figure: (thread, register) -> (row, col), 32-bit accumulators.
    private static (int Row, int Col) DSlot(int tid, int reg)
    {
        int w = tid >> 5, l = tid & 31, j = reg / 4, q = reg % 4;
        return ((16 * w) + (l >> 2) + (8 * (q >> 1)), (8 * j) + (2 * (l & 3)) + (q & 1));
    }

    private static void CheckF32(uint[] output, double[,] expected, int dRegs, string what)
    {
        for (int tid = 0; tid < 128; tid++)
        {
            for (int r = 0; r < dRegs; r++)
            {
                (int row, int col) = DSlot(tid, r);
                float got = BitConverter.UInt32BitsToSingle(output[(tid * dRegs) + r]);
                Assert.That(got, Is.EqualTo((float)expected[row, col]), $"{what}: D[{row},{col}] (thread {tid} d{r})");
            }
        }
    }

    /// <summary>Small exact values that make every (row, k) and (col, k) distinct enough to catch a wrong layout.</summary>
    private static double ValueA(int m, int k) => ((m * 7 + k * 3) % 9 - 4) * 0.5;
    private static double ValueB(int n, int k) => ((n * 5 + k * 11) % 7 - 3) * 0.25;

    private static double[,] Product(int n, int kTotal, Func<int, int, double> a, Func<int, int, double> b, double[,]? c = null)
    {
        var d = new double[64, n];
        for (int m = 0; m < 64; m++)
        {
            for (int j = 0; j < n; j++)
            {
                double s = c?[m, j] ?? 0;
                for (int k = 0; k < kTotal; k++)
                {
                    s += a(m, k) * b(j, k);
                }
                d[m, j] = s;
            }
        }
        return d;
    }

    private static uint[] Garbage(int dRegs) => Enumerable.Range(0, 128 * dRegs).Select(i => BitConverter.SingleToUInt32Bits(1000f + i)).ToArray();

    [TestCase(false)]
    [TestCase(true)]
    public void SeedM64N8K16NoSwizzle(bool bf16)
    {
        // kernels/hopper/wgmma_seed.cu: A 64x16 at 0, B 8x16 at 2048, both K-major, no swizzle, scale-d 0.
        var img = SeedImage(bf16 ? Bf16 : F16);
        var c = new Case
        {
            Opcode = $"wgmma.mma_async.sync.aligned.m64n8k16.f32.{(bf16 ? "bf16.bf16" : "f16.f16")}",
            DRegs = 4,
            Image = img,
            Steps = [(Desc(0, 128, 256, 0), Desc(2048, 128, 256, 0), false)],
            Tail = ", 1, 1, 0, 0",
            CIn = Garbage(4),   // scale-d = 0: the old D must not matter
        };
        var (output, stats) = Run(c);
        CheckF32(output, Product(8, 16, ValueA, ValueB), 4, "seed");
        Assert.That(stats.TensorOps[(int)TensorPrecision.F16Wgmma], Is.EqualTo(2L * 64 * 8 * 16));
        Assert.That(stats.Instructions[(int)InstrClass.Tensor], Is.EqualTo(4), "one wgmma per warp of the warpgroup");
    }

    private static byte[] SeedImage(Func<double, uint> enc)
    {
        var img = new byte[2048 + 256];
        for (int m = 0; m < 64; m++)
        {
            for (int k = 0; k < 16; k++)
            {
                Put(img, SeedOffset(m, k), 2, enc(ValueA(m, k)));
            }
        }
        for (int n = 0; n < 8; n++)
        {
            for (int k = 0; k < 16; k++)
            {
                Put(img, 2048 + SeedOffset(n, k), 2, enc(ValueB(n, k)));
            }
        }
        return img;
    }

    [Test]
    public void F16AccumulatorsM64N8K16()
    {
        // .f16.f16.f16: two accumulator registers per thread, each two halves: register q holds row
        // 16w + l/4 + 8q, columns 2(l%4) (low half) and 2(l%4) + 1 (high half).
        var cIn = new uint[128 * 2];
        var cM = new double[64, 8];
        for (int tid = 0; tid < 128; tid++)
        {
            int w = tid >> 5, l = tid & 31;
            for (int q = 0; q < 2; q++)
            {
                int row = (16 * w) + (l >> 2) + (8 * q), col = 2 * (l & 3);
                cM[row, col] = row * 0.25;
                cM[row, col + 1] = -col;
                cIn[(tid * 2) + q] = F16(cM[row, col]) | (F16(cM[row, col + 1]) << 16);
            }
        }
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n8k16.f16.f16.f16",
            DRegs = 2,
            Image = SeedImage(F16),
            Steps = [(Desc(0, 128, 256, 0), Desc(2048, 128, 256, 0), true)],
            Tail = ", 1, 1, 0, 0",
            CIn = cIn,
        };
        var (output, _) = Run(c);
        var expected = Product(8, 16, ValueA, ValueB, cM);
        for (int tid = 0; tid < 128; tid++)
        {
            int w = tid >> 5, l = tid & 31;
            for (int q = 0; q < 2; q++)
            {
                int row = (16 * w) + (l >> 2) + (8 * q), col = 2 * (l & 3);
                uint word = output[(tid * 2) + q];
                Assert.That((double)BitConverter.UInt16BitsToHalf((ushort)word), Is.EqualTo(expected[row, col]), $"D[{row},{col}]");
                Assert.That((double)BitConverter.UInt16BitsToHalf((ushort)(word >> 16)), Is.EqualTo(expected[row, col + 1]), $"D[{row},{col + 1}]");
            }
        }
    }

    [Test]
    public void Bf16TransposedASwizzle64()
    {
        // A MN-major (imm-trans-a = 1) with the 64-byte swizzle: two blocks of 32 rows of M
        // (64 bytes), each 16 k-rows of 64 bytes; block b at b * 1024 (LBO), 8 k-rows = 512 bytes (SBO).
        // B K-major without swizzle (the seed's layout) at 2048.
        var img = SeedImage(Bf16);
        Array.Clear(img, 0, 2048);
        for (int m = 0; m < 64; m++)
        {
            for (int k = 0; k < 16; k++)
            {
                Put(img, ((m / 32) * 1024) + Sw64(k, (m % 32) * 2), 2, Bf16(ValueA(m, k)));
            }
        }
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16",
            DRegs = 4,
            Image = img,
            Steps = [(Desc(0, 1024, 512, 2), Desc(2048, 128, 256, 0), false)],
            Tail = ", 1, 1, 1, 0",
        };
        var (output, _) = Run(c);
        CheckF32(output, Product(8, 16, ValueA, ValueB), 4, "MN-major A");
    }

    [Test]
    public void F16TransposedBNoSwizzle()
    {
        // B N-major without swizzle, N = 16: core matrix (i, j) = 8 k-rows of 16 bytes holding
        // B[8i..8i+7, 8j..8j+7] (n contiguous); core (i, j) at 2048 + i * 256 (SBO) + j * 128 (LBO).
        var img = SeedImage(F16);
        img = [.. img, .. new byte[512 - 256]];
        for (int n = 0; n < 16; n++)
        {
            for (int k = 0; k < 16; k++)
            {
                Put(img, 2048 + ((n / 8) * 256) + ((k / 8) * 128) + ((k % 8) * 16) + ((n % 8) * 2), 2, F16(ValueB(n, k)));
            }
        }
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n16k16.f32.f16.f16",
            DRegs = 8,
            Image = img,
            Steps = [(Desc(0, 128, 256, 0), Desc(2048, 128, 256, 0), false)],
            Tail = ", 1, 1, 0, 1",
        };
        var (output, _) = Run(c);
        CheckF32(output, Product(16, 16, ValueA, ValueB), 8, "MN-major B, no swizzle");
    }

    /// <summary>bf16 64 x 64 tiles (K = 64: rows of 128 bytes) with the 128-byte swizzle: A at 0, B at 8192.</summary>
    private static byte[] Sw128Image(int n, bool bMnMajor, Func<int, int, double> a, Func<int, int, double> b)
    {
        var img = new byte[8192 + (n * 128)];
        for (int m = 0; m < 64; m++)
        {
            for (int k = 0; k < 64; k++)
            {
                Put(img, Sw128(m, 2 * k), 2, Bf16(a(m, k)));
            }
        }
        for (int j = 0; j < n; j++)
        {
            for (int k = 0; k < 64; k++)
            {
                // K-major: row j holds B[j, 0..63]; MN-major: row k holds B[0..63, k].
                Put(img, 8192 + (bMnMajor ? Sw128(k, 2 * j) : Sw128(j, 2 * k)), 2, Bf16(b(j, k)));
            }
        }
        return img;
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Bf16M64N64K16Swizzle128KMajorOrTransposedB(bool bMnMajor)
    {
        var img = Sw128Image(64, bMnMajor, ValueA, ValueB);
        // Four k16 steps across the 128-byte rows: K-major steps advance the start by 32 bytes inside
        // the swizzle atom (SBO = 8 rows * 128 bytes); MN-major B steps 16 rows of 128 bytes (SBO = 1024 per 8 k).
        var steps = Enumerable.Range(0, 4).Select(s => (
            Desc(32 * s, 16, 1024, 1),
            bMnMajor ? Desc(8192 + (2048 * s), 8192, 1024, 1) : Desc(8192 + (32 * s), 16, 1024, 1),
            s > 0)).ToList();
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16",
            DRegs = 32,
            Image = img,
            Steps = steps,
            Tail = $", 1, 1, 0, {(bMnMajor ? 1 : 0)}",
            CIn = Garbage(32),
        };
        var (output, stats) = Run(c);
        CheckF32(output, Product(64, 64, ValueA, ValueB), 32, bMnMajor ? "MN-major B" : "K-major B");
        Assert.That(stats.TensorOps[(int)TensorPrecision.F16Wgmma], Is.EqualTo(4 * 2L * 64 * 64 * 16));
    }

    [Test]
    public void Bf16AFromRegistersScaleDAndNegativeScales()
    {
        // A 64x16 from registers (the m16n8k16 A fragment per warp), B K-major 128B-swizzled, one
        // step with scale-d = 1 over a known D, imm-scale-a = -1 and imm-scale-b = -1 (D = C + A·B).
        var img = Sw128Image(64, false, ValueA, ValueB);
        var aIn = new uint[128 * 4];
        for (int tid = 0; tid < 128; tid++)
        {
            int w = tid >> 5, l = tid & 31, g = l >> 2, t = l & 3;
            for (int r = 0; r < 4; r++)
            {
                // reg 0: (g, 2t..2t+1), 1: (g+8, ...), 2: (g, 2t+8..), 3: (g+8, 2t+8..); lower column in the low half.
                int row = (16 * w) + g + (8 * (r & 1)), col = (2 * t) + (8 * (r >> 1));
                aIn[(tid * 4) + r] = Bf16(ValueA(row, col)) | (Bf16(ValueA(row, col + 1)) << 16);
            }
        }
        var cIn = new uint[128 * 32];
        var cM = new double[64, 64];
        for (int tid = 0; tid < 128; tid++)
        {
            for (int r = 0; r < 32; r++)
            {
                (int row, int col) = DSlot(tid, r);
                cM[row, col] = (row - col) * 0.125;
                cIn[(tid * 32) + r] = BitConverter.SingleToUInt32Bits((float)cM[row, col]);
            }
        }
        foreach (var (sa, sb) in new[] { (1, 1), (-1, 1), (1, -1), (-1, -1) })
        {
            var c = new Case
            {
                Opcode = "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16",
                DRegs = 32,
                Image = img,
                Steps = [(0, Desc(8192, 16, 1024, 1), true)],
                Tail = $", {sa}, {sb}, 0",
                AIn = aIn,
                CIn = cIn,
            };
            var (output, _) = Run(c);
            CheckF32(output, Product(64, 16, (m, k) => sa * ValueA(m, k), (n, k) => sb * ValueB(n, k), cM), 32, $"scales {sa},{sb}");
        }
    }

    [TestCase("s32.s8.s8")]
    [TestCase("satfinite.s32.u8.s8")]
    public void S8M64N16K32Swizzle128(string types)
    {
        // s8 (or u8) A 64 x 128 and s8 B 16 x 128 (rows of 128 bytes, 128B swizzle), four k32 steps of 32 bytes.
        bool aUnsigned = types.Contains("u8");
        int A(int m, int k) => ((m * 37) + (k * 11)) % 255 - (aUnsigned ? 0 : 127);
        static int B(int n, int k) => ((n * 13) + (k * 29)) % 251 - 125;
        var img = new byte[8192 + (16 * 128)];
        for (int m = 0; m < 64; m++)
        {
            for (int k = 0; k < 128; k++)
            {
                img[Sw128(m, k)] = (byte)A(m, k);
            }
        }
        for (int n = 0; n < 16; n++)
        {
            for (int k = 0; k < 128; k++)
            {
                img[8192 + Sw128(n, k)] = (byte)(sbyte)B(n, k);
            }
        }
        var c = new Case
        {
            Opcode = $"wgmma.mma_async.sync.aligned.m64n16k32.{types}",
            DRegs = 8,
            Image = img,
            Steps = Enumerable.Range(0, 4).Select(s => (Desc(32 * s, 16, 1024, 1), Desc(8192 + (32 * s), 16, 1024, 1), s > 0)).ToList(),
            CIn = Garbage(8),
        };
        var (output, stats) = Run(c);
        for (int tid = 0; tid < 128; tid++)
        {
            for (int r = 0; r < 8; r++)
            {
                (int row, int col) = DSlot(tid, r);
                long e = 0;
                for (int k = 0; k < 128; k++)
                {
                    e += (long)A(row, k) * B(col, k);
                }
                Assert.That((int)output[(tid * 8) + r], Is.EqualTo((int)e), $"D[{row},{col}]");
            }
        }
        Assert.That(stats.TensorOps[(int)TensorPrecision.Int8Wgmma], Is.EqualTo(4 * 2L * 64 * 16 * 32));
    }

    // e4m3 A 64 x 32 and B 16 x 32: rows of 32 bytes with the 32-byte swizzle (SBO = 8 rows * 32 bytes).
    private static int E4m3A(int m, int k) => ((m * 5) + (k * 3)) % 9 - 4;
    private static int E4m3B(int n, int k) => ((n * 7) + k) % 11 - 5;

    private static byte[] E4m3Image()
    {
        var img = new byte[2048 + (16 * 32)];
        for (int m = 0; m < 64; m++)
        {
            for (int k = 0; k < 32; k++)
            {
                img[Sw32(m, k)] = (byte)E4m3(E4m3A(m, k));
            }
        }
        for (int n = 0; n < 16; n++)
        {
            for (int k = 0; k < 32; k++)
            {
                img[2048 + Sw32(n, k)] = (byte)E4m3(E4m3B(n, k));
            }
        }
        return img;
    }

    [Test]
    public void E4m3M64N16K32Swizzle32()
    {
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n16k32.f32.e4m3.e4m3",
            DRegs = 8,
            Image = E4m3Image(),
            Steps = [(Desc(0, 16, 256, 3), Desc(2048, 16, 256, 3), false)],
            Tail = ", 1, 1",
            CIn = Garbage(8),
        };
        var (output, stats) = Run(c);
        CheckF32(output, Product(16, 32, (m, k) => E4m3A(m, k), (n, k) => E4m3B(n, k)), 8, "e4m3");
        Assert.That(stats.TensorOps[(int)TensorPrecision.Fp8Wgmma], Is.EqualTo(2L * 64 * 16 * 32));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void E4m3UnderTheHopperAccumulationModel(bool hopper)
    {
        // C = +-(16384.75 + row % 3) plus the integer products: sums in [2^13, 2^15), where 13
        // mantissa bits step by 1 (below 2^14) or 2 (above). The model truncates each result toward
        // zero to that step (Fp8AccumulationModel); without it D is the exact sum (fp32 holds it).
        static double CValue(int row, int col) => (((row + col) & 1) == 0 ? 1 : -1) * (16384.75 + (row % 3));
        static double Trunc13(double v)
        {
            double step = Math.Pow(2, Math.Floor(Math.Log2(Math.Abs(v))) - 13);
            return Math.Sign(v) * Math.Floor(Math.Abs(v) / step) * step;
        }
        var cIn = new uint[128 * 8];
        var cm = new double[64, 16];
        for (int tid = 0; tid < 128; tid++)
        {
            for (int r = 0; r < 8; r++)
            {
                (int row, int col) = DSlot(tid, r);
                cm[row, col] = CValue(row, col);
                cIn[(tid * 8) + r] = BitConverter.SingleToUInt32Bits((float)cm[row, col]);
            }
        }
        var c = new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n16k32.f32.e4m3.e4m3",
            DRegs = 8,
            Image = E4m3Image(),
            Steps = [(Desc(0, 16, 256, 3), Desc(2048, 16, 256, 3), true)],
            Tail = ", 1, 1",
            CIn = cIn,
        };
        uint[] output;
        using (Fp8AccumulationModel.Use(hopper))
        {
            output = Run(c).Out;
        }
        var exact = Product(16, 32, (m, k) => E4m3A(m, k), (n, k) => E4m3B(n, k), cm);
        var expected = new double[64, 16];
        int changed = 0;
        for (int m = 0; m < 64; m++)
        {
            for (int n = 0; n < 16; n++)
            {
                expected[m, n] = hopper ? Trunc13(exact[m, n]) : exact[m, n];
                changed += expected[m, n] != exact[m, n] ? 1 : 0;
            }
        }
        CheckF32(output, expected, 8, hopper ? "e4m3, Hopper model" : "e4m3, exact");
        if (hopper)
        {
            Assert.That(changed, Is.EqualTo(64 * 16), "every sum has a .75 the model drops");
        }
    }

    [Test]
    public void SeedKernelAsNvccCompilesIt()
    {
        // kernels/hopper/wgmma_seed.cu through nvcc -arch=sm_90a -ptx: the parser and the whole
        // wgmma path on the PTX a compiler writes (the register declarations, the inline-asm scope
        // with its own .reg .pred, the descriptor arithmetic in registers).
        string? nvcc = HostTestSupport.Nvcc();
        string? root = HostTestSupport.RepoRoot();
        if (nvcc is null || root is null)
        {
            Assert.Ignore("needs nvcc (PATH or /opt/zoetrope/cuda-12.4) and a checkout");
        }
        using var dir = new TempDirectory("zt-wgmma");
        var (exit, log) = HostTestSupport.Run(nvcc!, $"-arch=sm_90a -ptx -o {dir.File("seed.ptx")} {Path.Combine(root!, "kernels", "hopper", "wgmma_seed.cu")}");
        Assert.That(exit, Is.EqualTo(0), log);
        using var h = new EmuHarness();
        var f = h.Device.LoadModule(File.ReadAllText(dir.File("seed.ptx")), "wgmma_seed.ptx").GetFunction("_ZN2zt6hopper17wgmma_seed_kernelEPK6__halfS3_Pf");
        var a = new Half[64 * 16];
        var b = new Half[8 * 16];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (Half)ValueA(i / 16, i % 16);
        }
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = (Half)ValueB(i / 16, i % 16);
        }
        ulong pa = h.Upload(a), pb = h.Upload(b), pd = h.Alloc<float>(64 * 8);
        h.Launch(f, 1, 128, pa, pb, pd);
        var d = h.Download<float>(pd, 64 * 8);
        var expected = Product(8, 16, ValueA, ValueB);
        for (int m = 0; m < 64; m++)
        {
            for (int n = 0; n < 8; n++)
            {
                Assert.That(d[(m * 8) + n], Is.EqualTo((float)expected[m, n]), $"D[{m},{n}]");
            }
        }
    }

    [Test]
    public void DescriptorFieldsAndSwizzleBits()
    {
        var d = WgmmaDescriptor.Decode(Desc(0x1230, 0x40, 0x400, 1) | (5UL << 49));
        Assert.That(d, Is.EqualTo(new WgmmaDescriptor(0x1230, 0x40, 0x400, 5, WgmmaSwizzle.B128)));
        Assert.That(WgmmaDescriptor.Decode(d.Encode()), Is.EqualTo(d));
        // 128B: chunk bits 4-6 ^= bits 7-9; 64B: bits 4-5 ^= 7-8; 32B: bit 4 ^= bit 7.
        Assert.That(WgmmaDescriptor.Swizzled((3 * 128) + 0x12, WgmmaSwizzle.B128), Is.EqualTo((3 * 128) + 0x12 ^ 0x30));
        Assert.That(WgmmaDescriptor.Swizzled((7 * 128) + 0x42, WgmmaSwizzle.B64), Is.EqualTo((7 * 128) + 0x42 ^ 0x30));
        Assert.That(WgmmaDescriptor.Swizzled((1 * 128) + 0x05, WgmmaSwizzle.B32), Is.EqualTo((1 * 128) + 0x15));
        Assert.That(WgmmaDescriptor.Swizzled(0x3FF, WgmmaSwizzle.None), Is.EqualTo(0x3FF));
    }

    // --- misuse ---

    private static Case Seed(uint threads = 128, string beforeWait = "", string opcode = "wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16", string tail = ", 1, 1, 0, 0") => new()
    {
        Opcode = opcode,
        DRegs = 4,
        Image = new byte[2048 + 256],
        Steps = [(Desc(0, 128, 256, 0), Desc(2048, 128, 256, 0), false)],
        Tail = tail,
        Threads = threads,
        BeforeWait = beforeWait,
    };

    [Test]
    public void IncompleteWarpgroupIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => Run(Seed(threads: 96)))!;
        Assert.That(e.Message, Does.Contain("warpgroup").And.Contain("warp 0"));
    }

    [Test]
    public void PartialWarpIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => Run(new Case
        {
            Opcode = "wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16",
            DRegs = 4,
            Image = new byte[2048 + 256],
            Steps = [(Desc(0, 128, 256, 0), Desc(2048, 128, 256, 0), false)],
            Tail = ", 1, 1, 0, 0",
            Partial = true,
        }))!;
        Assert.That(e.Message, Does.Contain("every thread of the warp must execute it together").And.Contain("0x0000ffff"));
    }

    [Test]
    public void WgmmaWithoutFenceIsReported()
    {
        var c = Seed();
        var e = Assert.Throws<EmulatorException>(() => Run(new Case
        {
            Opcode = c.Opcode,
            DRegs = c.DRegs,
            Image = c.Image,
            Steps = c.Steps,
            Tail = c.Tail,
            NoFence = true,
        }))!;
        Assert.That(e.Message, Does.Contain("before any wgmma.fence").And.Contain("warp 0 lane 0"));
    }

    [Test]
    public void AccumulatorReadBeforeWaitIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => Run(Seed(beforeWait: "    mov.b32 %r9, %d2;\n")))!;
        Assert.That(e.Message, Does.Contain("%d2").And.Contain("in flight").And.Contain("lane 0"));
    }

    [Test]
    public void UnsupportedShapesStop()
    {
        var e = Assert.Throws<EmulatorException>(() => Run(Seed(opcode: "wgmma.mma_async.sync.aligned.m64n12k16.f32.f16.f16")))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.NotSupported));
        Assert.That(e.Message, Does.Contain("N = 12"));
        e = Assert.Throws<EmulatorException>(() => Run(Seed(opcode: "wgmma.mma_async.sync.aligned.m64n8k8.f32.tf32.tf32", tail: ", 1, 1")))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.NotSupported));
        Assert.That(e.Message, Does.Contain("tf32"));
        e = Assert.Throws<EmulatorException>(() => Run(Seed(opcode: "wgmma.mma_async.sync.aligned.m64n40k32.s32.s8.s8", tail: "")))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.NotSupported));
        Assert.That(e.Message, Does.Contain("N = 40"));
    }
}
