// cp.async.bulk.tensor (PTX ISA, "Data movement: cp.async.bulk.tensor"; CUDA programming guide,
// "Asynchronous data copies using the Tensor Memory Accelerator"): a 2D box in bounds, hanging
// off both edges (zero fill, full box bytes credited), every swizzle mode against a reference
// written from the guide's description (16-byte chunks XORed with the row index within each
// 128/64/32-byte span), a 3D map, the map read from global memory, the store direction, and a
// garbage map reported.
using NUnit.Framework;
using Zoetrope.Emulator;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaTmaTests
{
    private const string Hopper = ".version 8.0\n.target sm_90a\n.address_size 64\n";

    // Lane 0 loads the box at (c0, c1[, c2]) into buf through the mbarrier; then the warp copies
    // nbytes of buf to out. MAP is the tensor map operand's address register.
    private static string LoadKernel(int rank, bool mapInGlobal) => $@"
.visible .entry tma(.param .align 64 .b8 tmap[128], .param .u64 gmap, .param .u64 out, .param .u32 c0, .param .u32 c1, .param .u32 c2, .param .u32 nbytes)
{{
  .reg .pred %p<4>;
  .reg .b32 %r<32>;
  .reg .b64 %rd<16>;
  .shared .align 1024 .b8 buf[16384];
  .shared .align 8 .b64 bar;
  {(mapInGlobal ? "ld.param.u64 %rd1, [gmap];" : "mov.u64 %rd7, tmap;\n  cvta.param.u64 %rd1, %rd7;")}
  ld.param.u64 %rd2, [out];
  ld.param.u32 %r1, [c0];
  ld.param.u32 %r2, [c1];
  ld.param.u32 %r12, [c2];
  ld.param.u32 %r3, [nbytes];
  mov.u32 %r4, %tid.x;
  mov.u32 %r5, buf;
  mov.u32 %r6, bar;
  setp.ne.u32 %p1, %r4, 0;
  @%p1 bra SYNC;
  mbarrier.init.shared::cta.b64 [%r6], 1;
  fence.mbarrier_init.release.cluster;
  mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%r6], %r3;
  cp.async.bulk.tensor.{rank}d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%r5], [%rd1, {{{(rank == 2 ? "%r1, %r2" : "%r1, %r2, %r12")}}}], [%r6];
SYNC:
  bar.sync 0;
WAIT:
  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r6], 0;
  @!%p2 bra WAIT;
  shr.u32 %r8, %r3, 2;
  mov.u32 %r7, %r4;
COPY:
  setp.ge.u32 %p3, %r7, %r8;
  @%p3 bra DONE;
  shl.b32 %r9, %r7, 2;
  add.u32 %r10, %r5, %r9;
  ld.shared.u32 %r11, [%r10];
  mul.wide.u32 %rd3, %r7, 4;
  add.u64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r11;
  add.u32 %r7, %r7, 32;
  bra COPY;
DONE:
  ret;
}}
";

    private const int Rows = 40, Cols = 100, Pitch = 208; // u16 elements, rows padded to a multiple of 16 bytes

    private static ushort Element(int row, int col) => (ushort)((row << 8) | col | 0x8000);

    private static ushort[] Matrix()
    {
        var m = new ushort[Rows * Pitch / 2];
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Cols; c++)
            {
                m[(r * Pitch / 2) + c] = Element(r, c);
            }
        }
        return m;
    }

    /// <summary>The guide's swizzle: within each span of S = 32/64/128 bytes the 16-byte chunk index is XORed with the span row index (offset / 128) modulo S / 16.</summary>
    private static int ReferenceSwizzle(int offset, int span)
    {
        if (span == 0)
        {
            return offset;
        }
        int chunks = span / 16;
        int chunk = (offset >> 4) & (chunks - 1);
        int row = (offset >> 7) & (chunks - 1);
        return (offset & ~((chunks - 1) << 4)) | ((chunk ^ row) << 4);
    }

    private static byte[] Map(ulong global, int swizzle, uint boxCols, uint boxRows, uint estride0 = 1, int dataType = 1, int oobFill = 0)
    {
        string? why = TensorMap.Validate(dataType, 2, global, [Cols, Rows], [Pitch], [boxCols, boxRows], [estride0, 1], 0, swizzle, 0, oobFill, out var map);
        Assert.That(why, Is.Null);
        var bytes = new byte[128];
        map!.Encode(bytes);
        return bytes;
    }

    private static ushort[] Run2D(EmuHarness h, ulong global, int swizzle, uint boxCols, uint boxRows, int c0, int c1, bool mapInGlobal = false) =>
        Run2D(h, Map(global, swizzle, boxCols, boxRows), boxCols, boxRows, c0, c1, out _, mapInGlobal);

    private static ushort[] Run2D(EmuHarness h, byte[] map, uint boxCols, uint boxRows, int c0, int c1, out Zoetrope.Emulator.Exec.LaunchStats stats, bool mapInGlobal = false)
    {
        int nbytes = (int)(boxCols * boxRows * 2);
        ulong gmap = mapInGlobal ? h.Upload(map) : 0;
        ulong pout = h.Alloc<ushort>(nbytes / 2);
        stats = h.Launch(h.Device.LoadModule(Hopper + LoadKernel(2, mapInGlobal), "tma.ptx").GetFunction("tma"), 1, 32, map, gmap, pout, (uint)c0, (uint)c1, 0u, (uint)nbytes);
        return h.Download<ushort>(pout, nbytes / 2);
    }

    private static void Check(ushort[] got, int span, int boxCols, int boxRows, int c0, int c1, ushort outside = 0)
    {
        for (int r = 0; r < boxRows; r++)
        {
            for (int c = 0; c < boxCols; c++)
            {
                int y = c1 + r, x = c0 + c;
                ushort expected = y >= 0 && y < Rows && x >= 0 && x < Cols ? Element(y, x) : outside;
                int at = ReferenceSwizzle(((r * boxCols) + c) * 2, span) / 2;
                Assert.That(got[at], Is.EqualTo(expected), $"box ({r}, {c}) at shared element {at}, span {span}");
            }
        }
    }

    [Test]
    public void An2DBoxInBoundsLandsDenseInBoxOrder()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        Check(Run2D(h, g, 0, 64, 8, 16, 5), 0, 64, 8, 16, 5);
    }

    [Test]
    public void ABoxHangingOffBothEdgesIsZeroFilledAndCreditsTheFullBox()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        Check(Run2D(h, g, 0, 64, 8, -8, -3), 0, 64, 8, -8, -3);
        Check(Run2D(h, g, 0, 64, 8, 60, 36), 0, 64, 8, 60, 36);
    }

    /// <summary>The global sectors and in-bounds bytes a box at (c0, c1) touches, from the matrix's row pitch.</summary>
    private static (long Bytes, long Sectors) BoxTraffic(ulong global, int boxCols, int boxRows, int c0, int c1)
    {
        var sectors = new HashSet<ulong>();
        long bytes = 0;
        for (int r = c1; r < c1 + boxRows; r++)
        {
            for (int c = c0; c < c0 + boxCols; c++)
            {
                if (r >= 0 && r < Rows && c >= 0 && c < Cols)
                {
                    ulong a = global + (ulong)(r * Pitch) + (ulong)(c * 2);
                    sectors.Add(a / 32);
                    sectors.Add((a + 1) / 32);
                    bytes += 2;
                }
            }
        }
        return (bytes, sectors.Count);
    }

    [TestCase(16, 5)]
    [TestCase(-8, -3)]
    public void ABoxCountsAsOneGlobalRequestOfItsInBoundsSectorsAndItsSharedBytes(int c0, int c1)
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        Check(Run2D(h, Map(g, 0, 64, 8), 64, 8, c0, c1, out var stats), 0, 64, 8, c0, c1);
        var (bytes, sectors) = BoxTraffic(g, 64, 8, c0, c1);
        Assert.That(bytes, Is.EqualTo(c0 < 0 ? 5 * 56 * 2 : 1024));
        // The kernel's only global loads are the TMA's: one request per box.
        Assert.That((stats.GlobalLoadRequests, stats.GlobalLoadBytes, stats.GlobalLoadSectors, stats.GlobalLoadIdealSectors),
            Is.EqualTo((1L, bytes, sectors, (bytes + 31) / 32)));
        Assert.That(stats.SharedBulkBytes, Is.EqualTo(bytes));
        // The warp's own ld.shared of the 1024-byte box (8 conflict-free requests) are the only shared requests.
        Assert.That((stats.SharedRequests, stats.SharedWavefronts), Is.EqualTo((8L, 8L)));
        // Stores: the warp's 256 st.global.u32, none by the TMA.
        Assert.That(stats.GlobalStoreBytes, Is.EqualTo(1024));
    }

    [Test]
    public void TheFirstElementStrideIsIgnoredWithoutInterleave()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        // [2, 1] on a 64x8 box: the TMA has no stride for dimension 0, so the box stays 64 wide
        // and the expect_tx of 1024 bytes balances the copy.
        var map = Map(g, 0, 64, 8, estride0: 2);
        Assert.That(TensorMap.Decode(map, out _)!.BoxBytes, Is.EqualTo(1024));
        Check(Run2D(h, map, 64, 8, 16, 5, out _), 0, 64, 8, 16, 5);
        // A map whose stored stride says 2 (another encoder's) decodes to 1 as well.
        map[98] = 2;
        Assert.That(TensorMap.Decode(map, out _)!.ElementStrides[0], Is.EqualTo(1));
        // The second dimension's stride still applies: 8 rows by 2 hold 4.
        Assert.That(TensorMap.Validate(1, 2, g, [Cols, Rows], [Pitch], [64, 8], [1, 2], 0, 0, 0, 0, out var strided), Is.Null);
        Assert.That(strided!.BoxBytes, Is.EqualTo(512));
    }

    [Test]
    public void TheNanFillPutsTheCanonicalNanOutOfBounds()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        // FLOAT16 (6) with CU_TENSOR_MAP_FLOAT_OOB_FILL_NAN_REQUEST_ZERO_FMA: out-of-bounds elements read 0x7FFF.
        Check(Run2D(h, Map(g, 0, 64, 8, dataType: 6, oobFill: 1), 64, 8, -8, -3, out _), 0, 64, 8, -8, -3, outside: 0x7FFF);
        Check(Run2D(h, Map(g, 0, 64, 8, dataType: 9, oobFill: 1), 64, 8, 60, 36, out _), 0, 64, 8, 60, 36, outside: 0x7FFF);
        var f32 = new TensorMap { DataType = 7, OobFill = 1 };
        var e4 = new byte[4];
        f32.FillOutOfBounds(e4);
        Assert.That(BitConverter.ToUInt32(e4), Is.EqualTo(0x7FFFFFFFu));
        var e8 = new byte[8];
        (f32 with { DataType = 8 }).FillOutOfBounds(e8);
        Assert.That(BitConverter.ToUInt64(e8), Is.EqualTo(0x7FFFFFFFFFFFFFFFUL));
        (f32 with { OobFill = 0 }).FillOutOfBounds(e4);
        Assert.That(BitConverter.ToUInt32(e4), Is.EqualTo(0u));
        // The encoder admits the NaN fill for float types only (UINT16 here).
        Assert.That(TensorMap.Validate(1, 2, g, [Cols, Rows], [Pitch], [64, 8], [1, 1], 0, 0, 0, 1, out _), Does.Contain("floating-point"));
    }

    [TestCase(1, 16, 32)]
    [TestCase(2, 32, 64)]
    [TestCase(3, 64, 128)]
    public void EachSwizzleModeMatchesTheGuide(int swizzle, int boxCols, int span)
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        // 16 rows: the 128B pattern repeats every 8 rows of 128 bytes, so two repeats are checked.
        Check(Run2D(h, g, swizzle, (uint)boxCols, 16, 3 * 8, 2), span, boxCols, 16, 24, 2);
        Check(Run2D(h, g, swizzle, (uint)boxCols, 16, -8, 30), span, boxCols, 16, -8, 30);
        // The shared helper agrees with the reference everywhere in one repeat.
        for (int o = 0; o < 2048; o++)
        {
            Assert.That(Swizzle.Apply(o, (SwizzleMode)swizzle), Is.EqualTo(ReferenceSwizzle(o, span)));
        }
    }

    [Test]
    public void TheMapMayLiveInGlobalMemory()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        Check(Run2D(h, g, 3, 64, 8, 8, 1, mapInGlobal: true), 128, 64, 8, 8, 1);
    }

    [Test]
    public void A3DMapCopiesItsBox()
    {
        // u32 elements, dims (8, 5, 4), rows of 32 bytes, planes of 160 bytes; box (8, 2, 2) at
        // (0, 3, 3): the plane z = 4 is outside and reads as zeros.
        using var h = new EmuHarness();
        var t = Enumerable.Range(0, 8 * 5 * 4).Select(i => (uint)(i + 1000)).ToArray();
        ulong g = h.Upload(t);
        Assert.That(TensorMap.Validate(2, 3, g, [8, 5, 4], [32, 160], [8, 2, 2], [1, 1, 1], 0, 0, 0, 0, out var map), Is.Null);
        var bytes = new byte[128];
        map!.Encode(bytes);
        ulong pout = h.Alloc<uint>(32);
        h.Launch(h.Device.LoadModule(Hopper + LoadKernel(3, false), "tma.ptx").GetFunction("tma"), 1, 32, bytes, 0UL, pout, 0u, 3u, 3u, 128u);
        var got = h.Download<uint>(pout, 32);
        for (int z = 0; z < 2; z++)
        {
            for (int y = 0; y < 2; y++)
            {
                for (int x = 0; x < 8; x++)
                {
                    int gz = 3 + z, gy = 3 + y;
                    uint expected = gz < 4 ? t[(gz * 40) + (gy * 8) + x] : 0;
                    Assert.That(got[(z * 16) + (y * 8) + x], Is.EqualTo(expected), $"({z}, {y}, {x})");
                }
            }
        }
    }

    [Test]
    public void TheStoreDirectionWritesTheBoxSkippingOutOfBounds()
    {
        // Every thread writes buf[i] = i + 1 (u16), then thread 0 stores the 64x8 box at (60, 36):
        // columns 60..99 of rows 36..39 are written, the rest of global memory keeps 0xFFFF.
        const string ptx = @"
.visible .entry st(.param .align 64 .b8 tmap[128], .param .u32 c0, .param .u32 c1)
{
  .reg .pred %p<4>;
  .reg .b32 %r<16>;
  .reg .b64 %rd<4>;
  .shared .align 128 .b8 buf[1024];
  mov.u64 %rd1, tmap;
  ld.param.u32 %r1, [c0];
  ld.param.u32 %r2, [c1];
  mov.u32 %r3, %tid.x;
  mov.u32 %r4, buf;
  mov.u32 %r5, %r3;
FILL:
  setp.ge.u32 %p1, %r5, 512;
  @%p1 bra STORE;
  shl.b32 %r6, %r5, 1;
  add.u32 %r6, %r6, %r4;
  add.u32 %r7, %r5, 1;
  st.shared.u16 [%r6], %r7;
  add.u32 %r5, %r5, 64;
  bra FILL;
STORE:
  fence.proxy.async.shared::cta;
  bar.sync 0;
  setp.ne.u32 %p2, %r3, 0;
  @%p2 bra DONE;
  cp.async.bulk.tensor.2d.global.shared::cta.tile.bulk_group [%rd1, {%r1, %r2}], [%r4];
  cp.async.bulk.commit_group;
  cp.async.bulk.wait_group.read 0;
DONE:
  ret;
}
";
        using var h = new EmuHarness();
        var init = Enumerable.Repeat((ushort)0xFFFF, Rows * Pitch / 2).ToArray();
        ulong g = h.Upload(init);
        var map = Map(g, 0, 64, 8);
        h.Launch(h.Device.LoadModule(Hopper + ptx, "st.ptx").GetFunction("st"), 1, 64, map, 60u, 36u);
        var got = h.Download<ushort>(g, Rows * Pitch / 2);
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < Pitch / 2; c++)
            {
                bool inBox = r >= 36 && c >= 60 && c < Cols;
                ushort expected = inBox ? (ushort)(((r - 36) * 64) + (c - 60) + 1) : (ushort)0xFFFF;
                Assert.That(got[(r * Pitch / 2) + c], Is.EqualTo(expected), $"({r}, {c})");
            }
        }
    }

    [Test]
    public void AGarbageMapAndAMisalignedBoxAreReported()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        var f = h.Device.LoadModule(Hopper + LoadKernel(2, false), "tma.ptx").GetFunction("tma");
        ulong pout = h.Alloc<ushort>(512);
        var garbage = Enumerable.Range(0, 128).Select(i => (byte)i).ToArray();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 32, garbage, 0UL, pout, 0u, 0u, 0u, 1024u))!;
        Assert.That(e.Message, Does.Contain("not a tensor map cuTensorMapEncodeTiled wrote"));
        var rank3 = Assert.Throws<EmulatorException>(() =>
        {
            Assert.That(TensorMap.Validate(1, 3, g, [Cols, Rows, 1], [Pitch, Pitch * Rows], [64, 8, 1], [1, 1, 1], 0, 0, 0, 0, out var m3), Is.Null);
            var b3 = new byte[128];
            m3!.Encode(b3);
            h.Launch(f, 1, 32, b3, 0UL, pout, 0u, 0u, 0u, 1024u);
        })!;
        Assert.That(rank3.Message, Does.Contain("rank-3 tensor map"));
        // 128B swizzle into a buffer aligned to 128 but not 1024 bytes.
        var misaligned = h.Device.LoadModule(Hopper + LoadKernel(2, false).Replace("mov.u32 %r5, buf;", "mov.u32 %r5, buf;\n  add.u32 %r5, %r5, 128;"), "tma.ptx").GetFunction("tma");
        var a = Assert.Throws<EmulatorException>(() => h.Launch(misaligned, 1, 32, Map(g, 3, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u))!;
        Assert.That(a.Message, Does.Contain("not 1024-byte aligned"));
    }

    [TestCase(1, 0, 16UL, 64u, 1u, "tensorRank 0")]
    [TestCase(13, 2, 16UL, 64u, 1u, "tensorDataType 13")]
    [TestCase(1, 6, 16UL, 64u, 1u, "tensorRank 6")]
    [TestCase(1, 2, 8UL, 64u, 1u, "not 16-byte aligned")]
    [TestCase(1, 2, 16UL, 300u, 1u, "boxDim[0] = 300")]
    [TestCase(1, 2, 16UL, 4u, 1u, "multiple of 16")]
    [TestCase(1, 2, 16UL, 64u, 9u, "elementStrides[0] = 9")]
    public void EncodeTiledValidatesAsTheDriverDoes(int dataType, int rank, ulong address, uint box0, uint estride, string message)
    {
        string? why = TensorMap.Validate(dataType, rank, address, [100, 40, 1, 1, 1], [208, 208 * 40, 208 * 40, 208 * 40], [box0, 8, 1, 1, 1], [estride, 1, 1, 1, 1], 0, 0, 0, 0, out _);
        Assert.That(why, Does.Contain(message));
        Assert.That(TensorMap.Validate(1, 2, 16, [100, 40], [200], [64, 8], [1, 1], 0, 0, 0, 0, out _), Does.Contain("multiple of 16"), "a row pitch of 200 bytes");
        Assert.That(TensorMap.Validate(1, 2, 16, [100, 40], [208], [128, 8], [1, 1], 0, 3, 0, 0, out _), Does.Contain("swizzle span"), "256-byte rows with 128B swizzle");
        Assert.That(TensorMap.Validate(1, 2, 16, [100, 40], [208], [64, 8], [1, 1], 0, 0, 4, 0, out _), Does.Contain("l2Promotion 4"), "CU_TENSOR_MAP_L2_PROMOTION_L2_256B is the last (3)");
        Assert.That(TensorMap.Validate(1, 2, 16, [100, 40], [208], [64, 8], [1, 1], 0, 0, 3, 0, out _), Is.Null);
    }

    [Test]
    public void AReadBeforeTheMbarrierWaitIsReportedAndABarSyncAfterOneThreadsWaitIsEnough()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        ulong pout = h.Alloc<ushort>(512);
        string kernel = LoadKernel(2, false);
        string wait = "WAIT:\n  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r6], 0;\n  @!%p2 bra WAIT;\n";
        Assert.That(kernel, Does.Contain(wait));
        var noWait = h.Device.LoadModule(Hopper + kernel.Replace(wait, ""), "tma.ptx").GetFunction("tma");
        var e = Assert.Throws<EmulatorException>(() => h.Launch(noWait, 1, 32, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u))!;
        Assert.That(e.Message, Does.Contain("before its mbarrier wait").And.Contain("phase 0 of the mbarrier at offset 16384"));
        // Thread 0 waits, then a bar.sync: every thread has (transitively) observed the phase.
        var oneWaits = h.Device.LoadModule(Hopper + kernel.Replace(wait, "  @%p1 bra SYNC2;\n" + wait + "SYNC2:\n  bar.sync 0;\n"), "tma.ptx").GetFunction("tma");
        Assert.DoesNotThrow(() => h.Launch(oneWaits, 1, 64, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u));
        Check(h.Download<ushort>(pout, 512), 0, 64, 8, 0, 0);
    }

    [Test]
    public void ABarWarpSyncAfterOneLanesWaitPassesItsObservationToTheWarp()
    {
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        ulong pout = h.Alloc<ushort>(512);
        string kernel = LoadKernel(2, false);
        string wait = "WAIT:\n  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r6], 0;\n  @!%p2 bra WAIT;\n";
        // Lane 0 waits, then __syncwarp: every member lane has observed the phase through it.
        var oneWaits = h.Device.LoadModule(Hopper + kernel.Replace(wait, "  @%p1 bra SYNC2;\n" + wait + "SYNC2:\n  bar.warp.sync -1;\n"), "tma.ptx").GetFunction("tma");
        Assert.DoesNotThrow(() => h.Launch(oneWaits, 1, 32, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u));
        Check(h.Download<ushort>(pout, 512), 0, 64, 8, 0, 0);
        // Without the warp sync lanes 1..31 read what they never observed.
        var noSync = h.Device.LoadModule(Hopper + kernel.Replace(wait, "  @%p1 bra SYNC2;\n" + wait + "SYNC2:\n"), "tma.ptx").GetFunction("tma");
        var e = Assert.Throws<EmulatorException>(() => h.Launch(noSync, 1, 32, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u))!;
        Assert.That(e.Message, Does.Contain("before its mbarrier wait"));
    }

    [Test]
    public void AnObservationPassesThroughAChainOfMbarriers()
    {
        // Warp 0's lane 0 waits on the TMA's barrier, then arrives on a second barrier; warp 1
        // waits on the second barrier only and reads the box: ordered by release/acquire.
        using var h = new EmuHarness();
        ulong g = h.Upload(Matrix());
        ulong pout = h.Alloc<ushort>(512);
        string kernel = LoadKernel(2, false);
        string wait = "WAIT:\n  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r6], 0;\n  @!%p2 bra WAIT;\n";
        string chain = @"  mov.u32 %r13, second;
  setp.ge.u32 %p3, %r4, 32;
  @%p3 bra CONSUMER;
  @%p1 bra DONE;
WAIT:
  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r6], 0;
  @!%p2 bra WAIT;
  mbarrier.arrive.release.cta.shared::cta.b64 _, [%r13];
  bra DONE;
CONSUMER:
  sub.u32 %r4, %r4, 32;
WAIT2:
  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p2, [%r13], 0;
  @!%p2 bra WAIT2;
";
        string withSecond = kernel
            .Replace(".shared .align 8 .b64 bar;", ".shared .align 8 .b64 bar;\n  .shared .align 8 .b64 second;")
            .Replace("mbarrier.init.shared::cta.b64 [%r6], 1;", "mbarrier.init.shared::cta.b64 [%r6], 1;\n  mov.u32 %r13, second;\n  mbarrier.init.shared::cta.b64 [%r13], 1;");
        var chained = h.Device.LoadModule(Hopper + withSecond.Replace(wait, chain), "tma.ptx").GetFunction("tma");
        Assert.DoesNotThrow(() => h.Launch(chained, 1, 64, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u));
        Check(h.Download<ushort>(pout, 512), 0, 64, 8, 0, 0);
        // Arriving on the second barrier before the wait releases nothing: warp 1's read is reported.
        string early = chain.Replace("  mbarrier.arrive.release.cta.shared::cta.b64 _, [%r13];\n", "")
            .Replace("  @%p1 bra DONE;\nWAIT:", "  @%p1 bra DONE;\n  mbarrier.arrive.release.cta.shared::cta.b64 _, [%r13];\nWAIT:");
        var racy = h.Device.LoadModule(Hopper + withSecond.Replace(wait, early), "tma.ptx").GetFunction("tma");
        var e = Assert.Throws<EmulatorException>(() => h.Launch(racy, 1, 64, Map(g, 0, 64, 8), 0UL, pout, 0u, 0u, 0u, 1024u))!;
        Assert.That(e.Message, Does.Contain("before its mbarrier wait"));
    }

    // nvcc 12.4's PTX (-arch=sm_90a) for a kernel with a __grid_constant__ CUtensorMap and
    // CUTLASS-style inline asm: mov.b64 of the param, cvta.param, a scoped predicate in the wait.
    private const string NvccKernel = @"
.visible .entry _Z1k14CUtensorMap_stPfii(
	.param .align 64 .b8 _Z1k14CUtensorMap_stPfii_param_0[128],
	.param .u64 _Z1k14CUtensorMap_stPfii_param_1,
	.param .u32 _Z1k14CUtensorMap_stPfii_param_2,
	.param .u32 _Z1k14CUtensorMap_stPfii_param_3
)
{
	.reg .pred 	%p<3>;
	.reg .f32 	%f<2>;
	.reg .b32 	%r<18>;
	.reg .b64 	%rd<8>;
	.shared .align 1024 .b8 _ZZ1k14CUtensorMap_stPfiiE3buf[8192];
	.shared .align 8 .u64 _ZZ1k14CUtensorMap_stPfiiE3bar;

	mov.b64 	%rd2, _Z1k14CUtensorMap_stPfii_param_0;
	ld.param.u64 	%rd3, [_Z1k14CUtensorMap_stPfii_param_1];
	ld.param.u32 	%r2, [_Z1k14CUtensorMap_stPfii_param_2];
	ld.param.u32 	%r3, [_Z1k14CUtensorMap_stPfii_param_3];
	mov.u32 	%r1, %tid.x;
	setp.ne.s32 	%p1, %r1, 0;
	@%p1 bra 	$L__BB0_2;

	mov.u32 	%r4, _ZZ1k14CUtensorMap_stPfiiE3bar;
	mov.u32 	%r5, 1;
	mbarrier.init.shared::cta.b64 [%r4], %r5;
	fence.proxy.async.shared::cta;
	mov.u32 	%r7, 8192;
	mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r4], %r7;
	cvta.param.u64 	%rd4, %rd2;
	mov.u32 	%r8, _ZZ1k14CUtensorMap_stPfiiE3buf;
	cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%r8], [%rd4, {%r2, %r3}], [%r4];

$L__BB0_2:
	bar.sync 	0;
	cvta.to.global.u64 	%rd1, %rd3;
	mov.u32 	%r13, _ZZ1k14CUtensorMap_stPfiiE3bar;

$L__BB0_3:
	mov.u32 	%r14, 0;
	{ .reg .pred p; mbarrier.try_wait.parity.shared::cta.b64 p, [%r13], %r14; selp.u32 %r12, 1, 0, p; }
	setp.eq.s32 	%p2, %r12, 0;
	@%p2 bra 	$L__BB0_3;

	shl.b32 	%r15, %r1, 2;
	mov.u32 	%r16, _ZZ1k14CUtensorMap_stPfiiE3buf;
	add.s32 	%r17, %r16, %r15;
	ld.shared.f32 	%f1, [%r17];
	mul.wide.u32 	%rd6, %r1, 4;
	add.s64 	%rd7, %rd1, %rd6;
	st.global.f32 	[%rd7], %f1;
	ret;

}


";

    [Test]
    public void NvccsPtxForAGridConstantTensorMapRuns()
    {
        using var h = new EmuHarness();
        var t = Enumerable.Range(0, 40 * 100).Select(i => (float)i).ToArray();
        ulong g = h.Upload(t);
        Assert.That(TensorMap.Validate(7, 2, g, [100, 40], [400], [64, 32], [1, 1], 0, 0, 0, 0, out var map), Is.Null);
        var bytes = new byte[128];
        map!.Encode(bytes);
        ulong pout = h.Alloc<float>(128);
        var f = h.Device.LoadModule(".version 8.4\n.target sm_90a\n.address_size 64\n" + NvccKernel, "nvcc.ptx").GetFunction("_Z1k14CUtensorMap_stPfii");
        h.Launch(f, 1, 128, bytes, pout, 40, 5);
        var got = h.Download<float>(pout, 128);
        for (int i = 0; i < 128; i++)
        {
            int x = 40 + (i % 64), y = 5 + (i / 64);
            Assert.That(got[i], Is.EqualTo(x < 100 ? t[(y * 100) + x] : 0f), $"thread {i} (columns from 100 on are outside: zero fill)");
        }
    }
}
