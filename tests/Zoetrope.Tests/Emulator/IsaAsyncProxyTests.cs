// The async proxy's checks (Exec/AsyncProxyTracker.cs): a wgmma reads its shared operands until the
// wgmma.wait_group that retires its group, a bulk store reads its shared source until
// cp.async.bulk.wait_group.read covers its bulk group, and generic writes need the writer's
// fence.proxy.async before the async proxy reads them. Each misuse is shown failing, and the
// correct variant passing with the right values (D = A·B from the ISA's no-swizzle core-matrix
// layout and accumulator figure, computed here in doubles; the bulk store's bytes compared).
using NUnit.Framework;
using Zoetrope.Emulator;

namespace Zoetrope.Tests.Emulator;

[TestFixture]
public class IsaAsyncProxyTests
{
    private const string Hopper = ".version 8.0\n.target sm_90a\n.address_size 64\n";

    // --- wgmma m64n8k16.f32.f16.f16: A 64x16 at 0, B 8x16 at 2048, K-major, no swizzle (LBO 128, SBO 256) ---

    private static int CoreOffset(int row, int k) => ((((row >> 3) * 2) + (k >> 3)) * 128) + ((row & 7) * 16) + ((k & 7) * 2);
    private static double A(int m, int k) => (((m * 5) + (k * 3)) % 7) - 3;
    private static double B(int n, int k) => ((((n * 3) + k) % 5) - 2) * 0.5;

    private static uint[] Image()
    {
        var bytes = new byte[2048 + 256];
        for (int k = 0; k < 16; k++)
        {
            for (int m = 0; m < 64; m++)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(CoreOffset(m, k), 2), BitConverter.HalfToUInt16Bits((Half)A(m, k)));
            }
            for (int n = 0; n < 8; n++)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(2048 + CoreOffset(n, k), 2), BitConverter.HalfToUInt16Bits((Half)B(n, k)));
            }
        }
        var words = new uint[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, words, 0, bytes.Length);
        return words;
    }

    private static ulong Desc(int start) => (ulong)(start >> 4) | (128UL >> 4 << 16) | (256UL >> 4 << 32);

    /// <summary>Copies the image into shared memory, {afterCopy}, bar.sync, one wgmma, commit, {beforeWait}, wait 0, {afterWait}, stores D. %r9 = smem + 2048 (B), %p5 = thread 32.</summary>
    private static string WgmmaKernel(string afterCopy, string beforeWait, string afterWait) => Hopper + $$"""
        .visible .entry wg(.param .u64 img, .param .u64 out, .param .u64 da, .param .u64 db)
        {
            .reg .b32 %r<16>;
            .reg .b64 %rd<16>;
            .reg .f32 %d<4>;
            .reg .pred %p<8>;
            .shared .align 1024 .b8 smem[2304];
            .shared .align 8 .b64 mbar;
            mov.u32 %r1, %tid.x;
            ld.param.u64 %rd1, [img];
            mov.u32 %r5, smem;
            add.u32 %r9, %r5, 2048;
            setp.eq.u32 %p5, %r1, 32;
            mov.u32 %r3, %r1;
        $Lcopy:
            setp.ge.u32 %p1, %r3, 576;
            @%p1 bra $Ldone;
            mul.wide.u32 %rd2, %r3, 4;
            add.s64 %rd3, %rd1, %rd2;
            ld.global.u32 %r4, [%rd3];
            shl.b32 %r6, %r3, 2;
            add.u32 %r7, %r5, %r6;
            st.shared.u32 [%r7], %r4;
            add.u32 %r3, %r3, 128;
            bra $Lcopy;
        $Ldone:
        {{afterCopy}}
            bar.sync 0;
            ld.param.u64 %rd4, [da];
            ld.param.u64 %rd5, [db];
            mov.f32 %d0, 0f00000000;
            mov.f32 %d1, 0f00000000;
            mov.f32 %d2, 0f00000000;
            mov.f32 %d3, 0f00000000;
            wgmma.fence.sync.aligned;
            wgmma.mma_async.sync.aligned.m64n8k16.f32.f16.f16 {%d0, %d1, %d2, %d3}, %rd4, %rd5, 1, 1, 1, 0, 0;
            wgmma.commit_group.sync.aligned;
        {{beforeWait}}
            wgmma.wait_group.sync.aligned 0;
        {{afterWait}}
            ld.param.u64 %rd6, [out];
            mul.wide.u32 %rd7, %r1, 16;
            add.s64 %rd8, %rd6, %rd7;
            st.global.v4.f32 [%rd8], {%d0, %d1, %d2, %d3};
            ret;
        }
        """;

    private static float[] RunWgmma(string afterCopy, string beforeWait, string afterWait)
    {
        using var h = new EmuHarness();
        var f = h.Device.LoadModule(WgmmaKernel(afterCopy, beforeWait, afterWait), "wg.ptx").GetFunction("wg");
        ulong img = h.Upload(Image()), output = h.Alloc<float>(128 * 4);
        h.Launch(f, 1, 128, img, output, Desc(0), Desc(2048));
        return h.Download<float>(output, 128 * 4);
    }

    private static void CheckD(float[] d)
    {
        for (int t = 0; t < 128; t++)
        {
            for (int q = 0; q < 4; q++)
            {
                // The accumulator figure: warp w rows 16w + l/4 (+8 for q >= 2), column 2(l%4) + q%2.
                int w = t >> 5, l = t & 31;
                int row = (16 * w) + (l >> 2) + (8 * (q >> 1)), col = (2 * (l & 3)) + (q & 1);
                double s = 0;
                for (int k = 0; k < 16; k++)
                {
                    s += A(row, k) * B(col, k);
                }
                Assert.That(d[(t * 4) + q], Is.EqualTo((float)s), $"D[{row},{col}]");
            }
        }
    }

    private const string Fence = "    fence.proxy.async.shared::cta;";
    private const string WriteB = "    @%p5 st.shared.u32 [%r9], %r1;";

    [Test]
    public void WriteToWgmmaOperandBeforeWaitIsReported()
    {
        // Thread 32 (warp 1) overwrites B's first word while its warp's wgmma may still read it (warp 0
        // ran ahead to its wait_group here, so its own wgmma has retired).
        var e = Assert.Throws<EmulatorException>(() => RunWgmma(Fence, WriteB, ""))!;
        Assert.That(e.Message, Does.Contain("warp 1 lane 0").And.Contain("writes shared bytes [2048, 2052) that warp 1's wgmma (group 0, PTX line")
            .And.Contain("wait for it with wgmma.wait_group first"));
    }

    [Test]
    public void BulkLoadIntoWgmmaOperandBeforeWaitIsReported()
    {
        // The CUTLASS rule: a stage is refilled (its "empty" barrier arrived) only after wgmma.wait_group
        // retires the wgmma's reading it. Here the refill (a bulk copy into B) comes first.
        const string refill = """
                @%p5 mov.u32 %r10, mbar;
                @%p5 mbarrier.init.shared::cta.b64 [%r10], 1;
                @%p5 mbarrier.arrive.expect_tx.shared::cta.b64 %rd9, [%r10], 256;
                @%p5 cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%r9], [%rd1], 256, [%r10];
            """;
        var e = Assert.Throws<EmulatorException>(() => RunWgmma(Fence, refill, ""))!;
        Assert.That(e.Message, Does.Contain("warp 1 lane 0").And.Contain("cp.async.bulk.shared::cluster")
            .And.Contain("writes shared bytes [2048, 2304) that warp 1's wgmma (group 0"));
    }

    [Test]
    public void WriteToWgmmaOperandAfterWaitPasses()
    {
        CheckD(RunWgmma(Fence, "", "    bar.sync 0;\n" + WriteB));
    }

    [Test]
    public void WgmmaOperandWithoutProxyFenceIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => RunWgmma("", "", ""))!;
        Assert.That(e.Message, Does.Contain("the wgmma reads shared bytes [").And.Contain("written by warp ").And.Contain("st.shared.u32")
            .And.Contain("without a fence.proxy.async before the async proxy reads it"));
    }

    [Test]
    public void FenceWithoutStateSpaceCoversShared()
    {
        CheckD(RunWgmma("    fence.proxy.async;", "", ""));
    }

    [Test]
    public void FenceForGlobalOnlyDoesNotCoverShared()
    {
        var e = Assert.Throws<EmulatorException>(() => RunWgmma("    fence.proxy.async.global;", "", ""))!;
        Assert.That(e.Message, Does.Contain("without a fence.proxy.async"));
    }

    // --- cp.async.bulk.global.shared::cta.bulk_group: 256 bytes from shared, issued by lane 0 ---

    /// <summary>32 lanes write 64 words, {afterWrite}, bar.warp.sync; lane 0 stores them in bulk, commits, {beforeWait}, waits with {wait}, {afterWait}.</summary>
    private static string StoreKernel(string afterWrite, string beforeWait, string wait, string afterWait) => Hopper + $$"""
        .visible .entry st(.param .u64 out)
        {
            .reg .b32 %r<16>;
            .reg .b64 %rd<4>;
            .reg .pred %p<4>;
            .shared .align 128 .b8 buf[256];
            mov.u32 %r1, %tid.x;
            mov.u32 %r2, buf;
            shl.b32 %r3, %r1, 2;
            add.u32 %r4, %r2, %r3;
            mad.lo.u32 %r5, %r1, 3, 7;
            st.shared.u32 [%r4], %r5;
            add.u32 %r6, %r5, 1000;
            st.shared.u32 [%r4+128], %r6;
        {{afterWrite}}
            bar.warp.sync -1;
            setp.ne.u32 %p1, %r1, 0;
            @%p1 bra $Ldone;
            ld.param.u64 %rd1, [out];
            cp.async.bulk.global.shared::cta.bulk_group [%rd1], [%r2], 256;
            cp.async.bulk.commit_group;
        {{beforeWait}}
            {{wait}}
        {{afterWait}}
        $Ldone:
            ret;
        }
        """;

    private static uint[] RunStore(string afterWrite, string beforeWait, string wait, string afterWait)
    {
        using var h = new EmuHarness();
        var f = h.Device.LoadModule(StoreKernel(afterWrite, beforeWait, wait, afterWait), "st.ptx").GetFunction("st");
        ulong output = h.Alloc<uint>(64);
        h.Launch(f, 1, 32, output);
        return h.Download<uint>(output, 64);
    }

    private static void CheckStored(uint[] got)
    {
        for (int i = 0; i < 64; i++)
        {
            uint lane = (uint)(i % 32);
            Assert.That(got[i], Is.EqualTo((lane * 3) + 7 + (i >= 32 ? 1000u : 0)), $"word {i}");
        }
    }

    private const string Overwrite = "    st.shared.u32 [%r2+16], %r1;";

    [Test]
    public void WriteToBulkStoreSourceBeforeWaitIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => RunStore(Fence, Overwrite, "cp.async.bulk.wait_group.read 0;", ""))!;
        Assert.That(e.Message, Does.Contain("warp 0 lane 0").And.Contain("writes shared bytes [16, 20) that warp 0 lane 0's bulk store (bulk group 0, PTX line")
            .And.Contain("cp.async.bulk.wait_group.read"));
    }

    [Test]
    public void WaitForAnOlderGroupOnlyIsReported()
    {
        // wait_group.read 1 leaves the most recent bulk group (the store's) in flight.
        var e = Assert.Throws<EmulatorException>(() => RunStore(Fence, "", "cp.async.bulk.wait_group.read 1;", Overwrite))!;
        Assert.That(e.Message, Does.Contain("writes shared bytes [16, 20) that warp 0 lane 0's bulk store (bulk group 0"));
    }

    [TestCase("cp.async.bulk.wait_group.read 0;")]
    [TestCase("cp.async.bulk.wait_group 0;")]
    public void WriteToBulkStoreSourceAfterWaitPasses(string wait)
    {
        CheckStored(RunStore(Fence, "", wait, Overwrite));
    }

    [Test]
    public void BulkStoreSourceWithoutProxyFenceIsReported()
    {
        var e = Assert.Throws<EmulatorException>(() => RunStore("", "", "cp.async.bulk.wait_group.read 0;", ""))!;
        Assert.That(e.Message, Does.Contain("the bulk store reads shared bytes [0, 4), written by warp 0 lane 0 at PTX line")
            .And.Contain("without a fence.proxy.async before the async proxy reads it"));
    }
}
