using NUnit.Framework;
using Zoetrope.Emulator;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// The interpreter on hand-written PTX: control flow with divergence, barriers, every checker
/// (races, uninitialised shared reads, out-of-bounds, misalignment, divergent barriers,
/// cp.async read before wait) and the coalescing / bank-conflict counters.
/// </summary>
[TestFixture]
public sealed class InterpreterTests
{
    // out[tid] = tid odd ? tid * 3 : tid + 100, then a loop of tid % 5 iterations adds 1 each.
    private const string Diverge = @"
.visible .entry diverge(.param .u64 out)
{
    .reg .pred %p<3>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<4>;
    ld.param.u64 %rd1, [out];
    cvta.to.global.u64 %rd1, %rd1;
    mov.u32 %r1, %tid.x;
    and.b32 %r2, %r1, 1;
    setp.eq.s32 %p1, %r2, 0;
    @%p1 bra $EVEN;
    mul.lo.s32 %r3, %r1, 3;
    bra.uni $JOIN;
$EVEN:
    add.s32 %r3, %r1, 100;
$JOIN:
    rem.u32 %r4, %r1, 5;
    mov.u32 %r5, 0;
$LOOP:
    setp.ge.u32 %p2, %r5, %r4;
    @%p2 bra $DONE;
    add.s32 %r3, %r3, 1;
    add.s32 %r5, %r5, 1;
    bra.uni $LOOP;
$DONE:
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r3;
    ret;
}";

    [Test]
    public void DivergentBranchesAndLoopsReconverge()
    {
        using var h = new EmuHarness();
        var f = h.Load(Diverge, "diverge");
        ulong o = h.Alloc<int>(96);
        h.Launch(f, 1, 96, o);
        var r = h.Download<int>(o, 96);
        for (int t = 0; t < 96; t++)
        {
            int expected = (t % 2 == 1 ? t * 3 : t + 100) + (t % 5);
            Assert.That(r[t], Is.EqualTo(expected), $"thread {t}");
        }
    }

    // Block reduction through shared memory with a barrier per step; `sync` selects whether the barrier is there.
    private static string Reduce(bool sync) => $@"
.visible .entry reduce(.param .u64 x, .param .u64 out)
{{
    .reg .pred %p<3>;
    .reg .b32 %r<12>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<6>;
    .shared .align 4 .b8 s[256];
    ld.param.u64 %rd1, [x];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.f32 %f1, [%rd4];
    mov.u32 %r2, s;
    shl.b32 %r3, %r1, 2;
    add.s32 %r4, %r2, %r3;
    st.shared.f32 [%r4], %f1;
    {(sync ? "bar.sync 0;" : "")}
    mov.u32 %r5, 32;
$STEP:
    setp.ge.u32 %p1, %r1, %r5;
    @%p1 bra $SKIP;
    shl.b32 %r6, %r5, 2;
    add.s32 %r7, %r4, %r6;
    ld.shared.f32 %f2, [%r7];
    ld.shared.f32 %f3, [%r4];
    add.f32 %f3, %f3, %f2;
    st.shared.f32 [%r4], %f3;
$SKIP:
    {(sync ? "bar.sync 0;" : "")}
    shr.u32 %r5, %r5, 1;
    setp.ne.s32 %p2, %r5, 0;
    @%p2 bra $STEP;
    setp.ne.s32 %p1, %r1, 0;
    @%p1 bra $END;
    ld.shared.f32 %f1, [s];
    st.global.f32 [%rd2], %f1;
$END:
    ret;
}}";

    [Test]
    public void BarrierReductionIsCorrectAndConflictFree()
    {
        using var h = new EmuHarness();
        var f = h.Load(Reduce(sync: true), "reduce");
        var x = Enumerable.Range(1, 64).Select(i => (float)i).ToArray();
        ulong dx = h.Upload(x), o = h.Alloc<float>(1);
        var stats = h.Launch(f, 1, 64, dx, o);
        Assert.That(h.Download<float>(o, 1)[0], Is.EqualTo(64 * 65 / 2f));
        Assert.That(stats.CoalescingEfficiency, Is.EqualTo(1.0));
        Assert.That(stats.BankConflictFactor, Is.EqualTo(1.0));
    }

    [Test]
    public void MissingBarrierIsReportedAsARace()
    {
        using var h = new EmuHarness();
        var f = h.Load(Reduce(sync: false), "reduce");
        ulong dx = h.Upload(new float[64]), o = h.Alloc<float>(1);
        var e = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 64, dx, o))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.LaunchFailed));
        Assert.That(e.Message, Does.Contain("race").And.Contain("kernel reduce").And.Contain("PTX line"));
    }

    private const string Copy = @"
.visible .entry copy(.param .u64 x, .param .u64 y, .param .u32 n)
{
    .reg .pred %p<2>;
    .reg .b32 %r<4>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<6>;
    ld.param.u64 %rd1, [x];
    ld.param.u64 %rd2, [y];
    ld.param.u32 %r1, [n];
    mov.u32 %r2, %tid.x;
    setp.gt.u32 %p1, %r2, %r1;
    @%p1 bra $END;
    mul.wide.u32 %rd3, %r2, 4;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.f32 %f1, [%rd4];
    add.s64 %rd5, %rd2, %rd3;
    st.global.f32 [%rd5], %f1;
$END:
    ret;
}";

    [Test]
    public void IndexOnePastTheEndIsOutOfBounds()
    {
        using var h = new EmuHarness();
        var f = h.Load(Copy, "copy");
        ulong x = h.Alloc<float>(40), y = h.Alloc<float>(40);
        var e = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 64, x, y, 40u))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.IllegalAddress));
        Assert.That(e.Message, Does.Contain("out-of-bounds global read").And.Contain("thread (40,0,0)").And.Contain("0 bytes past the end of the 160-byte allocation"));
    }

    [Test]
    public void StridedAccessesCountExtraSectors()
    {
        // A 4-byte load per lane with consecutive addresses touches 4 sectors per warp.
        using var h = new EmuHarness();
        var f = h.Load(Copy, "copy");
        ulong x = h.Alloc<float>(64), y = h.Alloc<float>(64);
        var s = h.Launch(f, 1, 64, x, y, 63u);
        Assert.That(s.GlobalLoadRequests, Is.EqualTo(2));
        Assert.That(s.GlobalLoadSectors, Is.EqualTo(8));
        Assert.That(s.CoalescingEfficiency, Is.EqualTo(1.0));
    }

    // Each lane reads shared word tid * stride: stride 32 puts all 32 lanes in bank 0.
    private static string Banks(int stride) => $@"
.visible .entry banks(.param .u64 out)
{{
    .reg .b32 %r<6>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<4>;
    .shared .align 4 .b8 s[4096];
    mov.u32 %r1, %tid.x;
    mul.lo.s32 %r2, %r1, {4 * stride};
    mov.u32 %r3, s;
    add.s32 %r4, %r3, %r2;
    mov.f32 %f1, 0f3F800000;
    st.shared.f32 [%r4], %f1;
    ld.shared.f32 %f1, [%r4];
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    st.global.f32 [%rd3], %f1;
    ret;
}}";

    [TestCase(1, 1)]
    [TestCase(2, 2)]
    [TestCase(32, 32)]
    public void BankConflictsAreCounted(int stride, int wavefronts)
    {
        using var h = new EmuHarness();
        var s = h.Launch(h.Load(Banks(stride), "banks"), 1, 32, h.Alloc<float>(32));
        Assert.That(s.SharedRequests, Is.EqualTo(2));
        Assert.That(s.SharedWavefronts, Is.EqualTo(2 * wavefronts));
        Assert.That(s.BankConflictFactor, Is.EqualTo(wavefronts));
    }

    private const string Uninit = @"
.visible .entry uninit(.param .u64 out)
{
    .reg .f32 %f<2>;
    .reg .b64 %rd<2>;
    .shared .align 4 .b8 s[128];
    ld.shared.f32 %f1, [s+8];
    ld.param.u64 %rd1, [out];
    st.global.f32 [%rd1], %f1;
    ret;
}";

    [Test]
    public void ReadingSharedMemoryNobodyWroteIsReported()
    {
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(h.Load(Uninit, "uninit"), 1, 1, h.Alloc<float>(1)))!;
        Assert.That(e.Message, Does.Contain("which no thread of this CTA had written"));
    }

    private const string Misaligned = @"
.visible .entry mis(.param .u64 x)
{
    .reg .f32 %f<5>;
    .reg .b64 %rd<3>;
    ld.param.u64 %rd1, [x];
    add.s64 %rd2, %rd1, 4;
    ld.global.v4.f32 {%f1, %f2, %f3, %f4}, [%rd2];
    ret;
}";

    [Test]
    public void MisalignedVectorLoadIsReported()
    {
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(h.Load(Misaligned, "mis"), 1, 1, h.Alloc<float>(16)))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.MisalignedAddress));
        Assert.That(e.Message, Does.Contain("misaligned 16-byte vector load"));
    }

    private const string SplitBarrier = @"
.visible .entry split()
{
    .reg .pred %p<2>;
    .reg .b32 %r<2>;
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p1, %r1, 32;
    @%p1 bra $A;
    bar.sync 0;
    bra.uni $END;
$A:
    bar.sync 0;
$END:
    ret;
}";

    [Test]
    public void BarriersAtDifferentInstructionsAreReported()
    {
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(h.Load(SplitBarrier, "split"), 1, 64))!;
        Assert.That(e.Message, Does.Contain("divergent barrier"));
    }

    private const string Hang = @"
.visible .entry hang()
{
    .reg .pred %p<2>;
    .reg .b32 %r<2>;
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p1, %r1, 32;
    @%p1 bra $END;
    bar.sync 1, 64;
$END:
    ret;
}";

    [Test]
    public void BarrierNeverCompletedIsReported()
    {
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(h.Load(Hang, "hang"), 1, 64))!;
        Assert.That(e.Message, Does.Contain("barrier 1 is never completed").And.Contain("32 threads arrived"));
    }

    // cp.async of 16 bytes per lane into shared, optionally waited for, then read back and stored.
    private static string Async(bool wait) => $@"
.visible .entry async(.param .u64 x, .param .u64 y)
{{
    .reg .b32 %r<6>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<8>;
    .shared .align 16 .b8 s[512];
    ld.param.u64 %rd1, [x];
    ld.param.u64 %rd2, [y];
    mov.u32 %r1, %tid.x;
    shl.b32 %r2, %r1, 4;
    mov.u32 %r3, s;
    add.s32 %r4, %r3, %r2;
    cvt.u64.u32 %rd3, %r2;
    add.s64 %rd4, %rd1, %rd3;
    cp.async.cg.shared.global [%r4], [%rd4], 16;
    cp.async.commit_group;
    {(wait ? "cp.async.wait_group 0;" : "")}
    ld.shared.f32 %f1, [%r4+4];
    mul.wide.u32 %rd5, %r1, 4;
    add.s64 %rd6, %rd2, %rd5;
    st.global.f32 [%rd6], %f1;
    ret;
}}";

    [Test]
    public void CpAsyncDataLandsAtTheWait()
    {
        using var h = new EmuHarness();
        var x = Enumerable.Range(0, 128).Select(i => (float)i).ToArray();
        ulong dx = h.Upload(x), dy = h.Alloc<float>(32);
        h.Launch(h.Load(Async(wait: true), "async"), 1, 32, dx, dy);
        Assert.That(h.Download<float>(dy, 32), Is.EqualTo(Enumerable.Range(0, 32).Select(i => (float)((4 * i) + 1)).ToArray()));
    }

    [Test]
    public void ReadingACpAsyncDestinationBeforeTheWaitIsReported()
    {
        using var h = new EmuHarness();
        ulong dx = h.Upload(new float[128]), dy = h.Alloc<float>(32);
        var e = Assert.Throws<EmulatorException>(() => h.Launch(h.Load(Async(wait: false), "async"), 1, 32, dx, dy))!;
        Assert.That(e.Message, Does.Contain("cp.async").And.Contain("has not been waited for"));
    }

    [Test]
    public void WithoutChecksAMissingWaitReadsStaleData()
    {
        using var h = new EmuHarness();
        h.Device.Checks = false;
        var x = Enumerable.Range(1, 128).Select(i => (float)i).ToArray();
        ulong dx = h.Upload(x), dy = h.Upload(Enumerable.Repeat(-1f, 32).ToArray());
        h.Launch(h.Load(Async(wait: false), "async"), 1, 32, dx, dy);
        Assert.That(h.Download<float>(dy, 32), Is.All.EqualTo(0f), "the copy has not landed when the lane reads");
    }

    [Test]
    public void AnUnknownInstructionStopsTheLaunchNamingIt()
    {
        using var h = new EmuHarness();
        var f = h.Load(".visible .entry u()\n{\n.reg .b32 %r<3>;\nmov.u32 %r1, 1;\nfoo.bar.b32 %r2, %r1;\nret;\n}", "u");
        var e = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 32))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.NotSupported));
        Assert.That(e.Message, Does.Contain("'foo.bar.b32'").And.Contain("kernel u").And.Contain("PTX line 8"));
    }

    [Test]
    public void DynamicSharedMemoryBeyond48KNeedsTheAttribute()
    {
        using var h = new EmuHarness();
        var f = h.Load(".extern .shared .align 16 .b8 dyn[];\n.visible .entry k()\n{\n.reg .b32 %r<2>;\nmov.u32 %r1, dyn;\nret;\n}", "k");
        var big = new Zoetrope.Emulator.Device.LaunchConfig(new(1, 1, 1), new(32, 1, 1), 64 * 1024);
        var e = Assert.Throws<EmulatorException>(() => h.Device.Launch(f, big, []))!;
        Assert.That(e.Error, Is.EqualTo(EmuError.OutOfResources));
        h.Device.SetMaxDynamicShared(f, 64 * 1024);
        Assert.DoesNotThrow(() => h.Device.Launch(f, big, []));
        Assert.Throws<EmulatorException>(() => h.Device.SetMaxDynamicShared(f, 200 * 1024));
    }
}
