// mbarrier (PTX ISA, "Parallel synchronization and communication: mbarrier") and the flat bulk
// copy (cp.async.bulk) through hand-written PTX: a two-stage producer/consumer pipeline with full
// and empty barriers gives the right data and no race report; a phase nobody completes is reported
// as a deadlock naming the barrier, not hung; expect_tx mismatches, surplus arrivals, an
// uninitialised barrier and a plain load of a live barrier's bytes are reported.
using NUnit.Framework;
using Zoetrope.Emulator;

namespace Zoetrope.Tests.Emulator;

public class IsaMbarrierTests
{
    private const string Hopper = ".version 8.0\n.target sm_90a\n.address_size 64\n";

    private static Zoetrope.Emulator.Device.EmuFunction Load(EmuHarness h, string body, string name) =>
        h.Device.LoadModule(Hopper + body, "test.ptx").GetFunction(name);

    // Warp 0's lane 0 produces 6 tiles of 32 words through 2 stages with cp.async.bulk; warp 1
    // consumes each (out = 2 * in + tile) and releases the stage on the empty barrier.
    private const string Pipeline = @"
.visible .entry pipe(.param .u64 in, .param .u64 out)
{
  .reg .pred %p<4>;
  .reg .b32 %r<32>;
  .reg .b64 %rd<16>;
  .shared .align 128 .b8 buf[256];
  .shared .align 8 .b64 full[2];
  .shared .align 8 .b64 empty[2];
  ld.param.u64 %rd1, [in];
  ld.param.u64 %rd2, [out];
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, full;
  mov.u32 %r3, empty;
  mov.u32 %r4, buf;
  setp.ne.u32 %p1, %r1, 0;
  @%p1 bra INITED;
  mbarrier.init.shared::cta.b64 [%r2], 1;
  mbarrier.init.shared::cta.b64 [%r2+8], 1;
  mbarrier.init.shared::cta.b64 [%r3], 32;
  mbarrier.init.shared::cta.b64 [%r3+8], 32;
  fence.mbarrier_init.release.cluster;
INITED:
  bar.sync 0;
  setp.ge.u32 %p1, %r1, 32;
  @%p1 bra CONSUMER;
  setp.ne.u32 %p1, %r1, 0;
  @%p1 bra DONE;
  mov.u32 %r5, 0;
PLOOP:
  and.b32 %r6, %r5, 1;
  shl.b32 %r7, %r6, 3;
  add.u32 %r8, %r2, %r7;
  add.u32 %r9, %r3, %r7;
  setp.lt.u32 %p2, %r5, 2;
  @%p2 bra PISSUE;
  shr.u32 %r10, %r5, 1;
  sub.u32 %r10, %r10, 1;
  and.b32 %r10, %r10, 1;
PWAIT:
  mbarrier.try_wait.parity.shared::cta.b64 %p3, [%r9], %r10;
  @!%p3 bra PWAIT;
PISSUE:
  mbarrier.arrive.expect_tx.release.cta.shared::cta.b64 _, [%r8], 128;
  shl.b32 %r11, %r6, 7;
  add.u32 %r11, %r4, %r11;
  mul.wide.u32 %rd3, %r5, 128;
  add.u64 %rd4, %rd1, %rd3;
  cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%r11], [%rd4], 128, [%r8];
  add.u32 %r5, %r5, 1;
  setp.lt.u32 %p2, %r5, 6;
  @%p2 bra PLOOP;
  bra DONE;
CONSUMER:
  sub.u32 %r12, %r1, 32;
  mov.u32 %r5, 0;
CLOOP:
  and.b32 %r6, %r5, 1;
  shl.b32 %r7, %r6, 3;
  add.u32 %r8, %r2, %r7;
  add.u32 %r9, %r3, %r7;
  shr.u32 %r10, %r5, 1;
  and.b32 %r10, %r10, 1;
CWAIT:
  mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 %p3, [%r8], %r10;
  @!%p3 bra CWAIT;
  shl.b32 %r11, %r6, 7;
  add.u32 %r11, %r4, %r11;
  shl.b32 %r13, %r12, 2;
  add.u32 %r11, %r11, %r13;
  ld.shared.u32 %r14, [%r11];
  mbarrier.arrive.release.cta.shared::cta.b64 %rd5, [%r9];
  shl.b32 %r14, %r14, 1;
  add.u32 %r14, %r14, %r5;
  mul.wide.u32 %rd3, %r5, 128;
  mul.wide.u32 %rd6, %r12, 4;
  add.u64 %rd3, %rd3, %rd6;
  add.u64 %rd4, %rd2, %rd3;
  st.global.u32 [%rd4], %r14;
  add.u32 %r5, %r5, 1;
  setp.lt.u32 %p2, %r5, 6;
  @%p2 bra CLOOP;
DONE:
  ret;
}
";

    [Test]
    public void AProducerConsumerPipelineOverTwoStagesGivesTheDataWithoutARaceReport()
    {
        using var h = new EmuHarness();
        var input = Enumerable.Range(0, 6 * 32).Select(i => (uint)(i * 7 + 3)).ToArray();
        ulong pin = h.Upload(input), pout = h.Alloc<uint>(6 * 32);
        var stats = h.Launch(Load(h, Pipeline, "pipe"), 2, 64, pin, pout);
        var got = h.Download<uint>(pout, 6 * 32);
        var expected = input.Select((v, i) => (v * 2) + (uint)(i / 32)).ToArray();
        Assert.That(got, Is.EqualTo(expected));
        Assert.That(stats.Warnings, Is.Empty);
    }

    [Test]
    public void APhaseNobodyCompletesIsReportedAsADeadlockNamingTheBarrier()
    {
        const string ptx = @"
.visible .entry stuck()
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .shared .align 8 .b64 bar[2];
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, bar;
  add.u32 %r2, %r2, 8;
  setp.ne.u32 %p1, %r1, 0;
  @%p1 bra SYNC;
  mbarrier.init.shared.b64 [%r2], 1;
SYNC:
  bar.sync 0;
WAIT:
  mbarrier.try_wait.parity.shared.b64 %p2, [%r2], 0;
  @!%p2 bra WAIT;
  ret;
}
";
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(Load(h, ptx, "stuck"), 1, 64))!;
        Assert.That(e.Message, Does.Contain("deadlock").And.Contain("mbarrier at shared offset 8")
            .And.Contain("waits for parity 0").And.Contain("pending arrivals 1 of 1").And.Contain("tx-count 0").And.Contain("warp 1"));
    }

    [Test]
    public void ADeadlockedStateTokenWaitIsReportedWithItsToken()
    {
        // Phase 0 completes (two arrivals at once); the next arrival returns the token 1 and its
        // wait can never complete: the report names the token, not a parity.
        const string ptx = @"
.visible .entry stuck()
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  .shared .align 8 .b64 bar;
  mov.u32 %r2, bar;
  mbarrier.init.shared.b64 [%r2], 2;
  mbarrier.arrive.shared.b64 %rd1, [%r2], 2;
  mbarrier.arrive.shared.b64 %rd2, [%r2];
WAIT:
  mbarrier.try_wait.shared.b64 %p2, [%r2], %rd2;
  @!%p2 bra WAIT;
  ret;
}
";
        using var h = new EmuHarness();
        var e = Assert.Throws<EmulatorException>(() => h.Launch(Load(h, ptx, "stuck"), 1, 1))!;
        Assert.That(e.Message, Does.Contain("deadlock").And.Contain("waits for the phase of state 1 of the mbarrier").And.Contain("phase 1").And.Not.Contain("parity 1 of"));
    }

    // Lane 0 expects `expect` bytes and copies 128 with cp.async.bulk; everyone waits on phase 0.
    private const string ExpectTx = @"
.visible .entry etx(.param .u64 in, .param .u32 expect)
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  .shared .align 128 .b8 buf[128];
  .shared .align 8 .b64 bar;
  ld.param.u64 %rd1, [in];
  ld.param.u32 %r3, [expect];
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, bar;
  mov.u32 %r4, buf;
  setp.ne.u32 %p1, %r1, 0;
  @%p1 bra WAIT;
  mbarrier.init.shared::cta.b64 [%r2], 1;
  mbarrier.arrive.expect_tx.shared::cta.b64 _, [%r2], %r3;
  cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%r4], [%rd1], 128, [%r2];
WAIT:
  mbarrier.try_wait.parity.shared::cta.b64 %p2, [%r2], 0;
  @!%p2 bra WAIT;
  ret;
}
";

    [Test]
    public void ExpectTxMismatchesAreReported()
    {
        using var h = new EmuHarness();
        ulong pin = h.Upload(new uint[32]);
        var f = Load(h, ExpectTx, "etx");
        Assert.DoesNotThrow(() => h.Launch(f, 1, 32, pin, 128u));
        var tooFew = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 32, pin, 64u))!;
        Assert.That(tooFew.Message, Does.Contain("more bytes completed than expected").And.Contain("tx-count -64").And.Contain("cp.async.bulk"));
        var tooMany = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 32, pin, 256u))!;
        Assert.That(tooMany.Message, Does.Contain("deadlock").And.Contain("tx-count 128").And.Contain("pending arrivals 0 of 1"));
    }

    [Test]
    public void MisuseIsReported()
    {
        const string ptx = @"
.visible .entry misuse(.param .u32 mode)
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  .shared .align 8 .b64 bar;
  ld.param.u32 %r3, [mode];
  mov.u32 %r2, bar;
  setp.eq.u32 %p1, %r3, 0;
  @%p1 bra UNINIT;
  mbarrier.init.shared.b64 [%r2], 1;
  setp.eq.u32 %p1, %r3, 1;
  @%p1 bra PLAIN;
  mbarrier.arrive.shared.b64 %rd1, [%r2];
  ret;
PLAIN:
  ld.shared.u32 %r4, [%r2];
  ret;
UNINIT:
  mbarrier.arrive.shared.b64 %rd1, [%r2];
  ret;
}
";
        using var h = new EmuHarness();
        var f = Load(h, ptx, "misuse");
        var uninit = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 1, 0u))!;
        Assert.That(uninit.Message, Does.Contain("holds no initialised mbarrier").And.Contain("lane 0"));
        var plain = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 1, 1u))!;
        Assert.That(plain.Message, Does.Contain("live mbarrier at offset 0").And.Contain("plain ld/st"));
        // 32 lanes arrive on a barrier that expects one arrival per phase.
        var surplus = Assert.Throws<EmulatorException>(() => h.Launch(f, 1, 32, 2u))!;
        Assert.That(surplus.Message, Does.Contain("arrivals beyond the expected count").And.Contain("lane 1"));
    }

    [Test]
    public void ArriveTokensAndTestWaitFollowThePhase()
    {
        // Lane 0 arrives (token = phase 0) on a count-2 barrier; lanes wait on the token with
        // test_wait; lane 1's arrival completes the phase. out[lane] = token + 10 * waited.
        const string ptx = @"
.visible .entry tokens(.param .u64 out)
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<8>;
  .shared .align 8 .b64 bar;
  ld.param.u64 %rd1, [out];
  mov.u32 %r1, %tid.x;
  mov.u32 %r2, bar;
  setp.ne.u32 %p1, %r1, 0;
  @%p1 bra SYNC;
  mbarrier.init.shared.b64 [%r2], 2;
SYNC:
  bar.sync 0;
  mbarrier.arrive.shared.b64 %rd2, [%r2];
WAIT:
  mbarrier.test_wait.shared.b64 %p2, [%r2], %rd2;
  @!%p2 bra WAIT;
  selp.u64 %rd3, 10, 0, %p2;
  add.u64 %rd3, %rd3, %rd2;
  mul.wide.u32 %rd4, %r1, 8;
  add.u64 %rd4, %rd1, %rd4;
  st.global.u64 [%rd4], %rd3;
  ret;
}
";
        using var h = new EmuHarness();
        ulong pout = h.Alloc<ulong>(64);
        // Two warps of one lane each would need a 33-thread block; use lanes 0 and 32.
        h.Launch(Load(h, ptx.Replace("mbarrier.arrive.shared.b64 %rd2, [%r2];", "mov.u64 %rd2, 0;\n  and.b32 %r5, %r1, 31;\n  setp.ne.u32 %p3, %r5, 0;\n  @!%p3 mbarrier.arrive.shared.b64 %rd2, [%r2];"), "tokens"), 1, 64, pout);
        var got = h.Download<ulong>(pout, 64);
        Assert.That(got, Is.All.EqualTo(10UL), "every lane saw phase 0 complete (token 0, waited)");
    }

    [Test]
    public void AOneShotTestWaitReturnsFalseWhenNothingElseCanRun()
    {
        // test_wait is not a loop here: it finds the phase incomplete (false), the thread then
        // arrives itself, and the second test_wait finds it complete. out = {0, 1}.
        const string ptx = @"
.visible .entry once(.param .u64 out)
{
  .reg .pred %p<4>;
  .reg .b32 %r<8>;
  .reg .b64 %rd<4>;
  .shared .align 8 .b64 bar;
  ld.param.u64 %rd1, [out];
  mov.u32 %r1, bar;
  mbarrier.init.shared.b64 [%r1], 1;
  mbarrier.test_wait.parity.shared.b64 %p1, [%r1], 0;
  selp.u32 %r2, 1, 0, %p1;
  st.global.u32 [%rd1], %r2;
  mbarrier.arrive.shared.b64 %rd2, [%r1];
  mbarrier.test_wait.parity.shared.b64 %p2, [%r1], 0;
  selp.u32 %r3, 1, 0, %p2;
  st.global.u32 [%rd1+4], %r3;
  ret;
}
";
        using var h = new EmuHarness();
        ulong pout = h.Upload(new uint[] { 7, 7 });
        h.Launch(Load(h, ptx, "once"), 1, 1, pout);
        Assert.That(h.Download<uint>(pout, 2), Is.EqualTo(new uint[] { 0, 1 }));
    }
}
