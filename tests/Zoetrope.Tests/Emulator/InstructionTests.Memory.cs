using NUnit.Framework;
using Zoetrope.Emulator.Device;

namespace Zoetrope.Tests.Emulator;

/// <summary>
/// Memory, atomics, warp-wide instructions, barriers, special registers and guards, each in a
/// hand-written kernel whose expected output follows from the PTX ISA (and, for the warp
/// shuffles, from the ISA's pseudocode reimplemented here).
/// </summary>
public sealed partial class InstructionTests
{
    private const string SubWord = @"
.visible .entry subword(.param .u64 src, .param .u64 out)
{
    .reg .b16 %rs<4>;
    .reg .b32 %r<8>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<12>;
    ld.param.u64 %rd1, [src];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    cvt.u64.u32 %rd3, %r1;
    add.s64 %rd4, %rd1, %rd3;
    ld.global.s8 %r2, [%rd4];
    ld.global.u8 %r3, [%rd4];
    ld.global.s8 %rs1, [%rd4];
    cvt.rn.f32.s16 %f1, %rs1;
    mul.wide.u32 %rd5, %r1, 2;
    add.s64 %rd6, %rd1, %rd5;
    ld.global.s16 %r4, [%rd6];
    ld.global.u16 %r5, [%rd6];
    ld.global.nc.u16 %rs2, [%rd6];
    add.s16 %rs3, %rs2, 1;
    mul.wide.u32 %rd8, %r1, 4;
    add.s64 %rd9, %rd1, %rd8;
    ld.global.s32 %rd10, [%rd9];
    mul.wide.u32 %rd5, %r1, 48;
    add.s64 %rd7, %rd2, %rd5;
    st.global.u64 [%rd7+32], %rd10;
    st.global.u32 [%rd7], %r2;
    st.global.u32 [%rd7+4], %r3;
    st.global.f32 [%rd7+8], %f1;
    st.global.u32 [%rd7+12], %r4;
    st.global.u32 [%rd7+16], %r5;
    st.global.u8 [%rd7+20], %r2;
    st.global.u16 [%rd7+24], %r4;
    st.global.u16 [%rd7+28], %rs3;
    ret;
}";

    [Test]
    public void SubWordLoadsSignOrZeroExtendAndSubWordStoresWriteOnlyTheirBytes()
    {
        using var h = new EmuHarness();
        var bytes = new byte[128];
        byte[] head = [0x80, 0x7F, 0xFF, 0x01, 0x00, 0xFE, 0x81, 0x40];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = i < head.Length ? head[i] : (byte)((i * 37) + 11);
        }
        ulong src = h.Upload(bytes);
        ulong out_ = h.Upload(Enumerable.Repeat(0xAAAA_AAAAu, 32 * 12).ToArray());
        h.Launch(h.Load(SubWord, "subword"), 1, 32, src, out_);
        var o = h.Download<uint>(out_, 32 * 12);
        for (int t = 0; t < 32; t++)
        {
            sbyte sb = (sbyte)bytes[t];
            ushort half = BitConverter.ToUInt16(bytes, 2 * t);
            var row = o.AsSpan(t * 12, 12).ToArray();
            Assert.That(row[0], Is.EqualTo((uint)(int)sb), $"ld.global.s8 sign-extends into 32 bits, thread {t}");
            Assert.That(row[1], Is.EqualTo((uint)bytes[t]), $"ld.global.u8 zero-extends, thread {t}");
            Assert.That(BitConverter.UInt32BitsToSingle(row[2]), Is.EqualTo((float)sb), $"ld.global.s8 into a .b16 then cvt.rn.f32.s16, thread {t}");
            Assert.That(row[3], Is.EqualTo((uint)(int)(short)half), $"ld.global.s16 sign-extends, thread {t}");
            Assert.That(row[4], Is.EqualTo((uint)half), $"ld.global.u16 zero-extends, thread {t}");
            Assert.That(row[5], Is.EqualTo(0xAAAA_AA00u | (uint)(byte)sb), $"st.global.u8 writes one byte, thread {t}");
            Assert.That(row[6], Is.EqualTo(0xAAAA_0000u | half), $"st.global.u16 writes two bytes, thread {t}");
            Assert.That(row[7], Is.EqualTo(0xAAAA_0000u | (ushort)(half + 1)), $"ld.global.nc.u16, add.s16 wraps, thread {t}");
            long word = BitConverter.ToInt32(bytes, 4 * t);
            Assert.That(row[8] | ((ulong)row[9] << 32), Is.EqualTo((ulong)word), $"ld.global.s32 into a 64-bit register sign-extends to 64 bits, thread {t}");
        }
    }

    private const string Vectors = @"
.visible .entry vectors(.param .u64 src, .param .u64 out)
{
    .reg .b32 %r<8>;
    .reg .f32 %f<8>;
    .reg .b64 %rd<12>;
    ld.param.u64 %rd1, [src];
    ld.param.u64 %rd2, [out];
    mov.u32 %r1, %tid.x;
    mul.wide.u32 %rd3, %r1, 16;
    add.s64 %rd4, %rd1, %rd3;
    mul.wide.u32 %rd5, %r1, 64;
    add.s64 %rd6, %rd2, %rd5;
    ld.global.nc.v4.u32 {%r2, %r3, %r4, %r5}, [%rd4];
    st.global.v4.u32 [%rd6], {%r5, %r4, %r3, %r2};
    ld.global.v2.f32 {%f1, %f2}, [%rd4+8];
    st.global.v2.f32 [%rd6+16], {%f2, %f1};
    ld.global.v4.f32 {%f3, %f4, %f5, %f6}, [%rd4];
    st.global.v4.f32 [%rd6+48], {%f6, %f5, %f4, %f3};
    ld.global.v2.u64 {%rd7, %rd8}, [%rd4];
    st.global.v2.u64 [%rd6+32], {%rd8, %rd7};
    ld.global.v4.u32 {%r6, _, _, %r7}, [%rd4];
    st.global.v2.u32 [%rd6+24], {%r7, %r6};
    ret;
}";

    [Test]
    public void VectorLoadsAndStoresMoveEveryElementInOrder()
    {
        using var h = new EmuHarness();
        var src = Enumerable.Range(0, 32 * 4).Select(i => (uint)((i * 2654435761u) ^ 0x1234u)).ToArray();
        ulong dsrc = h.Upload(src), dout = h.Alloc<uint>(32 * 16);
        h.Launch(h.Load(Vectors, "vectors"), 1, 32, dsrc, dout);
        var o = h.Download<uint>(dout, 32 * 16);
        for (int t = 0; t < 32; t++)
        {
            var s = src.AsSpan(t * 4, 4).ToArray();
            var row = o.AsSpan(t * 16, 16).ToArray();
            // v4.u32 reversed; v2.f32 of words 2, 3 swapped; v4.u32 with sinks: words 3, 0; v2.u64 swapped; v4.f32 reversed (bits pass through unchanged).
            uint[] expected = [s[3], s[2], s[1], s[0], s[3], s[2], s[3], s[0], s[2], s[3], s[0], s[1], s[3], s[2], s[1], s[0]];
            Assert.That(row, Is.EqualTo(expected), $"thread {t}");
        }
    }

    private const string Params = @"
.visible .entry params(.param .u32 a, .param .align 8 .b8 s[24], .param .f32 f, .param .u64 out)
{
    .reg .b32 %r<8>;
    .reg .f32 %f<2>;
    .reg .b64 %rd<4>;
    ld.param.u32 %r1, [a];
    ld.param.u64 %rd1, [s];
    ld.param.u32 %r2, [s+8];
    ld.param.s16 %r3, [s+12];
    ld.param.u8 %r4, [s+15];
    ld.param.v2.u32 {%r5, %r6}, [s+16];
    ld.param.f32 %f1, [f];
    ld.param.s32 %rd3, [s+20];
    ld.param.u64 %rd2, [out];
    st.global.u32 [%rd2], %r1;
    st.global.u64 [%rd2+8], %rd1;
    st.global.u32 [%rd2+16], %r2;
    st.global.u32 [%rd2+20], %r3;
    st.global.u32 [%rd2+24], %r4;
    st.global.u32 [%rd2+28], %r5;
    st.global.u32 [%rd2+32], %r6;
    st.global.f32 [%rd2+36], %f1;
    st.global.u64 [%rd2+40], %rd3;
    ret;
}";

    [Test]
    public void StructParametersAreReadAtTheirOffsets()
    {
        using var h = new EmuHarness();
        var f = h.Load(Params, "params");
        Assert.That(f.Parameters.Select(p => p.Offset), Is.EqualTo(new[] { 0, 8, 32, 40 }), "the struct aligns to 8, the f32 follows it, the pointer aligns to 8");
        var s = new byte[24];
        BitConverter.GetBytes(0x1122_3344_5566_7788UL).CopyTo(s, 0);
        BitConverter.GetBytes(0xDEAD_BEEFu).CopyTo(s, 8);
        BitConverter.GetBytes((short)-2).CopyTo(s, 12);
        s[15] = 0xF0;
        BitConverter.GetBytes(17u).CopyTo(s, 16);
        BitConverter.GetBytes(0x8000_0001u).CopyTo(s, 20);
        ulong o = h.Alloc<uint>(12);
        h.Launch(f, 1, 1, 42u, s, 2.5f, o);
        var r = h.Download<uint>(o, 12);
        Assert.That(r[0], Is.EqualTo(42u));
        Assert.That(r[2] | ((ulong)r[3] << 32), Is.EqualTo(0x1122_3344_5566_7788UL));
        Assert.That(r[4], Is.EqualTo(0xDEAD_BEEFu));
        Assert.That(r[5], Is.EqualTo(0xFFFF_FFFEu), "ld.param.s16 sign-extends");
        Assert.That(r[6], Is.EqualTo(0xF0u));
        Assert.That(r[7..9], Is.EqualTo(new[] { 17u, 0x8000_0001u }));
        Assert.That(BitConverter.UInt32BitsToSingle(r[9]), Is.EqualTo(2.5f));
        Assert.That(r[10] | ((ulong)r[11] << 32), Is.EqualTo(0xFFFF_FFFF_8000_0001UL), "ld.param.s32 into a 64-bit register sign-extends");
    }

    private const string PtrParams = @"
.visible .entry ptrs(.param .u32 n, .param .u64 .ptr .global .align 1 x, .param .u32 m, .param .u64 .ptr .align 16 y)
{
    .reg .b32 %r<4>;
    .reg .b64 %rd<4>;
    ld.param.u32 %r1, [n];
    ld.param.u64 %rd1, [x];
    ld.param.u32 %r2, [m];
    ld.param.u64 %rd2, [y];
    st.global.u32 [%rd1], %r1;
    st.global.u32 [%rd2], %r2;
    ret;
}";

    [Test]
    public void PointerParameterAlignIsThePointeesNotTheParameters()
    {
        // In `.param .u64 .ptr .global .align 1 x` the .align is what x points to (LLVM and Triton emit it):
        // the parameter itself still aligns to its 8 bytes.
        using var h = new EmuHarness();
        var f = h.Load(PtrParams, "ptrs");
        Assert.That(f.Parameters.Select(p => (p.Offset, p.Size)), Is.EqualTo(new[] { (0, 4), (8, 8), (16, 4), (24, 8) }));
        ulong x = h.Alloc<uint>(1), y = h.Alloc<uint>(1);
        h.Launch(f, 1, 1, 7u, x, 9u, y);
        Assert.That(h.Download<uint>(x, 1)[0], Is.EqualTo(7u));
        Assert.That(h.Download<uint>(y, 1)[0], Is.EqualTo(9u));
    }

    private const string Local = @"
.visible .entry local(.param .u64 out)
{
    .local .align 8 .b8 __local_depot0[64];
    .reg .b64 %SP;
    .reg .b64 %SPL;
    .reg .pred %p<3>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<10>;
    mov.u64 %SPL, __local_depot0;
    cvta.local.u64 %SP, %SPL;
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, 0;
$FILL:
    mad.lo.s32 %r3, %r1, 100, %r2;
    mul.wide.u32 %rd1, %r2, 4;
    add.s64 %rd2, %SPL, %rd1;
    st.local.u32 [%rd2], %r3;
    add.s32 %r2, %r2, 1;
    setp.lt.u32 %p1, %r2, 16;
    @%p1 bra $FILL;
    mov.u32 %r2, 15;
    mov.u32 %r4, 0;
$SUM:
    mul.wide.u32 %rd3, %r2, 4;
    add.s64 %rd4, %SP, %rd3;
    ld.u32 %r6, [%rd4];
    mad.lo.s32 %r4, %r4, 3, %r6;
    sub.s32 %r2, %r2, 1;
    setp.ge.s32 %p2, %r2, 0;
    @%p2 bra $SUM;
    ld.local.u32 %r7, [%SPL+8];
    ld.u32 %r8, [%SP+60];
    add.u64 %rd5, %SP, 16;
    mov.u32 %r11, 77;
    st.u32 [%rd5], %r11;
    ld.local.u32 %r9, [%SPL+16];
    cvta.to.local.u64 %rd6, %SP;
    setp.eq.s64 %p1, %rd6, %SPL;
    selp.u32 %r10, 1, 0, %p1;
    ld.param.u64 %rd7, [out];
    mul.wide.u32 %rd8, %r1, 20;
    add.s64 %rd9, %rd7, %rd8;
    st.global.u32 [%rd9], %r4;
    st.global.u32 [%rd9+4], %r7;
    st.global.u32 [%rd9+8], %r8;
    st.global.u32 [%rd9+12], %r9;
    st.global.u32 [%rd9+16], %r10;
    ret;
}";

    [Test]
    public void LocalDepotThroughLocalAndGenericAddressesIsPrivateToEachThread()
    {
        using var h = new EmuHarness();
        ulong o = h.Alloc<uint>(64 * 5);
        h.Launch(h.Load(Local, "local"), 1, 64, o);
        var r = h.Download<uint>(o, 64 * 5);
        for (uint t = 0; t < 64; t++)
        {
            uint acc = 0;
            for (uint i = 16; i-- > 0;)
            {
                acc = unchecked((acc * 3) + (t * 100) + i);
            }
            Assert.That(r.AsSpan((int)t * 5, 5).ToArray(), Is.EqualTo(new[] { acc, (t * 100) + 2, (t * 100) + 15, 77u, 1u }), $"thread {t}");
        }
    }

    private const string SharedGeneric = @"
.visible .entry sgen(.param .u64 out)
{
    .shared .align 4 .b8 pad[12];
    .shared .align 4 .b8 smem[512];
    .reg .pred %p<3>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<16>;
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p2, %r1, 0;
    @%p2 st.shared.u32 [pad+8], %r1;
    mov.u64 %rd1, smem;
    cvta.shared.u64 %rd2, %rd1;
    mul.wide.u32 %rd3, %r1, 4;
    add.s64 %rd4, %rd2, %rd3;
    mul.lo.s32 %r2, %r1, 7;
    st.u32 [%rd4], %r2;
    bar.sync 0;
    mov.u32 %r3, %ntid.x;
    sub.s32 %r4, %r3, 1;
    sub.s32 %r4, %r4, %r1;
    mul.wide.u32 %rd5, %r4, 4;
    cvta.to.shared.u64 %rd6, %rd2;
    add.s64 %rd7, %rd6, %rd5;
    ld.shared.u32 %r5, [%rd7];
    add.s64 %rd8, %rd2, %rd5;
    ld.u32 %r6, [%rd8];
    setp.eq.s64 %p1, %rd6, %rd1;
    selp.u32 %r7, 1, 0, %p1;
    mov.u32 %r8, smem;
    cvt.u64.u32 %rd9, %r8;
    setp.eq.s64 %p1, %rd9, %rd1;
    selp.u32 %r9, 1, 0, %p1;
    ld.param.u64 %rd10, [out];
    cvta.to.global.u64 %rd11, %rd10;
    mul.wide.u32 %rd12, %r1, 16;
    add.s64 %rd13, %rd11, %rd12;
    st.global.v4.u32 [%rd13], {%r5, %r6, %r7, %r9};
    ret;
}";

    [Test]
    public void GenericAccessesThroughCvtaReachSharedMemory()
    {
        using var h = new EmuHarness();
        ulong o = h.Alloc<uint>(64 * 4);
        h.Launch(h.Load(SharedGeneric, "sgen"), 1, 64, o);
        var r = h.Download<uint>(o, 64 * 4);
        for (uint t = 0; t < 64; t++)
        {
            uint other = (63 - t) * 7;
            Assert.That(r.AsSpan((int)t * 4, 4).ToArray(), Is.EqualTo(new[] { other, other, 1u, 1u }),
                $"thread {t}: ld.shared of a cvta.to.shared address, generic ld, cvta round trip, mov of a shared symbol (offset 12, after pad)");
        }
    }

    private const string Atomics = @"
.visible .entry atoms(.param .u64 counters, .param .u64 olds)
{
    .shared .align 4 .b8 sc[4];
    .reg .pred %p<4>;
    .reg .b32 %r<16>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<16>;
    .reg .b64 %w<4>;
    ld.param.u64 %rd1, [counters];
    ld.param.u64 %rd2, [olds];
    mov.u32 %r1, %tid.x;
    setp.eq.u32 %p1, %r1, 0;
    mov.u32 %r15, 0;
    @%p1 st.shared.u32 [sc], %r15;
    bar.sync 0;
    atom.global.add.f32 %f1, [%rd1], 0f3F800000;
    atom.global.add.u32 %r2, [%rd1+4], 1;
    atom.shared.add.u32 %r3, [sc], 2;
    red.global.add.u32 [%rd1+8], %r1;
    red.global.add.f32 [%rd1+12], 0f3F000000;
$RETRY:
    ld.volatile.global.u32 %r4, [%rd1+16];
    add.s32 %r5, %r4, 1;
    atom.global.cas.b32 %r6, [%rd1+16], %r4, %r5;
    setp.ne.s32 %p2, %r6, %r4;
    @%p2 bra $RETRY;
    sub.s32 %r7, %r1, 40;
    atom.global.max.s32 %r8, [%rd1+20], %r7;
    atom.global.min.u32 %r8, [%rd1+24], %r1;
    atom.global.add.u64 %w1, [%rd1+32], 3;
    bar.sync 0;
    @!%p1 bra $OLDS;
    ld.shared.u32 %r9, [sc];
    st.global.u32 [%rd1+28], %r9;
    atom.global.cas.b32 %r10, [%rd1+40], 5, 9;
    atom.global.cas.b32 %r11, [%rd1+44], 7, 9;
    st.global.u32 [%rd1+48], %r10;
    st.global.u32 [%rd1+52], %r11;
    mov.u64 %w2, 0x100000000;
    mov.u64 %w3, 0x7777777788888888;
    atom.global.cas.b64 %w1, [%rd1+56], %w2, %w3;
    st.global.u64 [%rd1+64], %w1;
    atom.global.exch.b32 %r12, [%rd1+72], 123;
    st.global.u32 [%rd1+76], %r12;
$OLDS:
    mul.wide.u32 %rd3, %r1, 12;
    add.s64 %rd4, %rd2, %rd3;
    st.global.f32 [%rd4], %f1;
    st.global.u32 [%rd4+4], %r2;
    st.global.u32 [%rd4+8], %r3;
    ret;
}";

    [Test]
    public void AtomicsAndReductionsCombineEveryThreadsUpdate()
    {
        using var h = new EmuHarness();
        const int n = 96;
        var init = new uint[20];
        init[5] = unchecked((uint)-100);       // max.s32 target
        init[6] = 1000;                        // min.u32 target
        init[10] = 7;                          // cas with 5: mismatch
        init[11] = 7;                          // cas with 7: match
        init[14] = 0;                          // cas.b64 target: 0x1_0000_0000
        init[15] = 1;
        init[18] = 55;                         // exch
        ulong c = h.Upload(init), olds = h.Alloc<uint>(n * 3);
        h.Launch(h.Load(Atomics, "atoms"), 1, n, c, olds);
        var r = h.Download<uint>(c, 20);
        Assert.That(BitConverter.UInt32BitsToSingle(r[0]), Is.EqualTo((float)n), "atom.global.add.f32");
        Assert.That(r[1], Is.EqualTo((uint)n), "atom.global.add.u32");
        Assert.That(r[2], Is.EqualTo((uint)(n * (n - 1) / 2)), "red.global.add.u32");
        Assert.That(BitConverter.UInt32BitsToSingle(r[3]), Is.EqualTo(n * 0.5f), "red.global.add.f32");
        Assert.That(r[4], Is.EqualTo((uint)n), "a compare-and-swap loop counts every thread once");
        Assert.That((int)r[5], Is.EqualTo(n - 1 - 40), "atom.global.max.s32 compares signed");
        Assert.That(r[6], Is.EqualTo(0u), "atom.global.min.u32");
        Assert.That(r[7], Is.EqualTo((uint)(2 * n)), "atom.shared.add.u32");
        Assert.That(r[8] | ((ulong)r[9] << 32), Is.EqualTo((ulong)(3 * n)), "atom.global.add.u64");
        Assert.That(r[10], Is.EqualTo(7u), "cas with a different compare value leaves memory alone");
        Assert.That(r[11], Is.EqualTo(9u), "cas with an equal compare value swaps");
        Assert.That(r[12..14], Is.EqualTo(new[] { 7u, 7u }), "cas returns the old value either way");
        Assert.That(r[14] | ((ulong)r[15] << 32), Is.EqualTo(0x7777_7777_8888_8888UL), "atom.global.cas.b64 swaps");
        Assert.That(r[16] | ((ulong)r[17] << 32), Is.EqualTo(0x1_0000_0000UL), "atom.global.cas.b64 returns the old value");
        Assert.That(r[18..20], Is.EqualTo(new[] { 123u, 55u }), "atom.global.exch stores and returns the old value");
        var o = h.Download<uint>(olds, n * 3);
        var fOld = Enumerable.Range(0, n).Select(t => BitConverter.UInt32BitsToSingle(o[t * 3])).OrderBy(x => x).ToArray();
        var uOld = Enumerable.Range(0, n).Select(t => o[(t * 3) + 1]).OrderBy(x => x).ToArray();
        var sOld = Enumerable.Range(0, n).Select(t => o[(t * 3) + 2]).OrderBy(x => x).ToArray();
        Assert.That(fOld, Is.EqualTo(Enumerable.Range(0, n).Select(i => (float)i).ToArray()), "each thread saw a distinct old value");
        Assert.That(uOld, Is.EqualTo(Enumerable.Range(0, n).Select(i => (uint)i).ToArray()));
        Assert.That(sOld, Is.EqualTo(Enumerable.Range(0, n).Select(i => (uint)(2 * i)).ToArray()));
    }

    /// <summary>shfl.sync per the PTX ISA pseudocode: c packs the clamp (c[4:0]) and the segment mask (c[12:8]).</summary>
    private static (uint Value, bool Pred) ShflReference(string mode, uint[] a, int lane, int b, int c)
    {
        int bval = b & 31, cval = c & 31, segmask = (c >> 8) & 31;
        int maxLane = (lane & segmask) | (cval & ~segmask);
        int minLane = lane & segmask;
        int j;
        bool p;
        switch (mode)
        {
            case "up":
                j = lane - bval;
                p = j >= maxLane;
                break;
            case "down":
                j = lane + bval;
                p = j <= maxLane;
                break;
            case "bfly":
                j = lane ^ bval;
                p = j <= maxLane;
                break;
            default:
                j = minLane | (bval & ~segmask);
                p = j <= maxLane;
                break;
        }
        return (a[p ? j : lane], p);
    }

    private static readonly (string Mode, int B, int C)[] Shuffles =
    [
        ("bfly", 1, 0x1F), ("bfly", 16, 0x1F), ("bfly", 2, 0x1C1F), ("idx", 5, 0x1F), ("idx", 35, 0x1F), ("idx", 3, 0x181F), ("up", 1, 0), ("up", 2, 0x1800),
        ("down", 3, 0x1F), ("down", 5, 0x101F), ("idx", -1, 0x1F),
    ];

    private static string ShuffleKernel()
    {
        var body = new System.Text.StringBuilder();
        for (int i = 0; i < Shuffles.Length; i++)
        {
            var (mode, b, c) = Shuffles[i];
            // b = -1: a per-lane source lane (lane * 7 + 3) from a register.
            string bo = b < 0 ? "%r4" : b.ToString(System.Globalization.CultureInfo.InvariantCulture);
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"    shfl.sync.{mode}.b32 %r5|%p1, %r2, {bo}, {c}, -1;\n");
            body.Append("    selp.u32 %r6, 1, 0, %p1;\n");
            body.Append(System.Globalization.CultureInfo.InvariantCulture, $"    st.global.u32 [%rd3+{i * 8}], %r5;\n    st.global.u32 [%rd3+{(i * 8) + 4}], %r6;\n");
        }
        return $@"
.visible .entry shfl(.param .u64 out)
{{
    .reg .pred %p<2>;
    .reg .b32 %r<8>;
    .reg .f32 %f<4>;
    .reg .b64 %rd<6>;
    mov.u32 %r1, %tid.x;
    mad.lo.s32 %r2, %r1, 3, 1;
    mov.u32 %r3, %laneid;
    mad.lo.s32 %r4, %r3, 7, 3;
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r1, {(Shuffles.Length * 8) + 8};
    add.s64 %rd3, %rd1, %rd2;
{body}
    cvt.rn.f32.u32 %f1, %r1;
    shfl.sync.bfly.b32 %f2, %f1, 16, 31, -1;
    add.f32 %f1, %f1, %f2;
    shfl.sync.bfly.b32 %f2, %f1, 8, 31, -1;
    add.f32 %f1, %f1, %f2;
    shfl.sync.bfly.b32 %f2, %f1, 4, 31, -1;
    add.f32 %f1, %f1, %f2;
    shfl.sync.bfly.b32 %f2, %f1, 2, 31, -1;
    add.f32 %f1, %f1, %f2;
    shfl.sync.bfly.b32 %f2, %f1, 1, 31, -1;
    add.f32 %f1, %f1, %f2;
    st.global.f32 [%rd3+{Shuffles.Length * 8}], %f1;
    ret;
}}";
    }

    [Test]
    public void ShflSyncInsideAKernelFollowsTheIsaPseudocode()
    {
        using var h = new EmuHarness();
        const int n = 64;
        int stride = (Shuffles.Length * 2) + 2;
        ulong o = h.Alloc<uint>(n * stride);
        h.Launch(h.Load(ShuffleKernel(), "shfl"), 1, n, o);
        var r = h.Download<uint>(o, n * stride);
        for (int warp = 0; warp < 2; warp++)
        {
            var a = Enumerable.Range(0, 32).Select(l => (uint)((((warp * 32) + l) * 3) + 1)).ToArray();
            for (int lane = 0; lane < 32; lane++)
            {
                int t = (warp * 32) + lane;
                for (int i = 0; i < Shuffles.Length; i++)
                {
                    var (mode, b, c) = Shuffles[i];
                    var (v, p) = ShflReference(mode, a, lane, b < 0 ? (lane * 7) + 3 : b, c);
                    Assert.That((r[(t * stride) + (2 * i)], r[(t * stride) + (2 * i) + 1]), Is.EqualTo((v, p ? 1u : 0u)),
                        $"shfl.sync.{mode} b={b} c=0x{c:X}, thread {t}");
                }
                float sum = Enumerable.Range(warp * 32, 32).Sum(x => (float)x);
                Assert.That(BitConverter.UInt32BitsToSingle(r[(t * stride) + stride - 2]), Is.EqualTo(sum), $"butterfly sum, thread {t}");
            }
        }
    }

    private const string Vote = @"
.visible .entry vote(.param .u64 out)
{
    .reg .pred %p<8>;
    .reg .b32 %r<20>;
    .reg .b64 %rd<4>;
    mov.u32 %r1, %tid.x;
    activemask.b32 %r2;
    rem.u32 %r3, %r1, 3;
    setp.eq.u32 %p1, %r3, 0;
    vote.sync.ballot.b32 %r4, %p1, %r2;
    setp.lt.u32 %p2, %r1, 40;
    vote.sync.all.pred %p3, %p2, %r2;
    selp.u32 %r5, 1, 0, %p3;
    setp.eq.u32 %p2, %r1, 47;
    vote.sync.any.pred %p4, %p2, %r2;
    selp.u32 %r6, 1, 0, %p4;
    vote.sync.all.pred %p5, !%p2, %r2;
    selp.u32 %r7, 1, 0, %p5;
    vote.sync.uni.pred %p6, %p1, %r2;
    selp.u32 %r8, 1, 0, %p6;
    sub.s32 %r9, 20, %r1;
    redux.sync.add.u32 %r10, %r1, %r2;
    redux.sync.min.u32 %r11, %r1, %r2;
    redux.sync.max.s32 %r12, %r9, %r2;
    redux.sync.min.s32 %r13, %r9, %r2;
    shl.b32 %r14, 1, %r3;
    redux.sync.or.b32 %r15, %r14, %r2;
    redux.sync.and.b32 %r16, %r9, %r2;
    redux.sync.xor.b32 %r17, %r1, %r2;
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r1, 64;
    add.s64 %rd3, %rd1, %rd2;
    st.global.v4.u32 [%rd3], {%r2, %r4, %r5, %r6};
    st.global.v4.u32 [%rd3+16], {%r7, %r8, %r10, %r11};
    st.global.v4.u32 [%rd3+32], {%r12, %r13, %r15, %r16};
    st.global.u32 [%rd3+48], %r17;
    ret;
}";

    [Test]
    public void VoteAndReduxOverAFullAndAPartialWarp()
    {
        using var h = new EmuHarness();
        const int n = 48; // warp 1 has 16 lanes
        ulong o = h.Alloc<uint>(n * 16);
        h.Launch(h.Load(Vote, "vote"), 1, n, o);
        var r = h.Download<uint>(o, n * 16);
        for (int warp = 0; warp < 2; warp++)
        {
            var tids = Enumerable.Range(warp * 32, Math.Min(32, n - (warp * 32))).ToArray();
            uint member = tids.Length == 32 ? 0xFFFF_FFFF : (1u << tids.Length) - 1;
            uint ballot = 0;
            foreach (var t in tids.Where(t => t % 3 == 0))
            {
                ballot |= 1u << (t - (warp * 32));
            }
            bool all40 = tids.All(t => t < 40), any47 = tids.Any(t => t == 47), none47 = tids.All(t => t != 47);
            bool uni = tids.All(t => t % 3 == 0) || tids.All(t => t % 3 != 0);
            var signed = tids.Select(t => 20 - t).ToArray();
            uint or = tids.Aggregate(0u, (acc, t) => acc | (1u << (t % 3)));
            uint and = signed.Aggregate(0xFFFF_FFFFu, (acc, v) => acc & (uint)v);
            uint xor = tids.Aggregate(0u, (acc, t) => acc ^ (uint)t);
            uint[] expected =
            [
                member, ballot, all40 ? 1u : 0, any47 ? 1u : 0, none47 ? 1u : 0, uni ? 1u : 0, (uint)tids.Sum(), (uint)tids.Min(),
                (uint)signed.Max(), (uint)signed.Min(), or, and, xor,
            ];
            foreach (var t in tids)
            {
                Assert.That(r.AsSpan(t * 16, 13).ToArray(), Is.EqualTo(expected), $"thread {t}");
            }
        }
    }

    private const string NamedBarriers = @"
.visible .entry named(.param .u64 out)
{
    .shared .align 4 .b8 s[512];
    .reg .pred %p<4>;
    .reg .b32 %r<12>;
    .reg .b64 %rd<4>;
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %warpid;
    mov.u32 %r3, %laneid;
    shl.b32 %r4, %r1, 2;
    mov.u32 %r5, s;
    add.s32 %r6, %r5, %r4;
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r1, 4;
    add.s64 %rd3, %rd1, %rd2;
    setp.ge.u32 %p1, %r2, 2;
    @%p1 bra $UPPER;
    setp.eq.u32 %p2, %r2, 1;
    @!%p2 bra $WAIT1;
    mad.lo.s32 %r7, %r3, 5, 1;
    st.shared.u32 [%r6], %r7;
$WAIT1:
    bar.sync 1, 64;
    @%p2 bra $JOIN;
    ld.shared.u32 %r8, [%r6+128];
    st.global.u32 [%rd3], %r8;
    bra.uni $JOIN;
$UPPER:
    setp.eq.u32 %p3, %r2, 3;
    @!%p3 bra $WAIT2;
    add.s32 %r7, %r3, 1000;
    st.shared.u32 [%r6], %r7;
$WAIT2:
    bar.sync 2, 64;
    @%p3 bra $JOIN;
    ld.shared.u32 %r8, [%r6+128];
    st.global.u32 [%rd3], %r8;
$JOIN:
    bar.sync 0;
    @%p1 bra $END;
    @!%p2 bra $END;
    ld.shared.u32 %r9, [%r6+256];
    st.global.u32 [%rd3], %r9;
$END:
    ret;
}";

    [Test]
    public void BarSyncWithAThreadCountWaitsForThatManyThreads()
    {
        // Warp 0 waits at barrier 1 (64 threads) for warp 1's writes; warps 2 and 3 pair up on barrier 2.
        using var h = new EmuHarness();
        ulong o = h.Upload(Enumerable.Repeat(0xFFFF_FFFFu, 128).ToArray());
        h.Launch(h.Load(NamedBarriers, "named"), 1, 128, o);
        var r = h.Download<uint>(o, 128);
        for (uint lane = 0; lane < 32; lane++)
        {
            Assert.That(r[lane], Is.EqualTo((lane * 5) + 1), $"warp 0 lane {lane} reads warp 1's write after barrier 1");
            Assert.That(r[64 + lane], Is.EqualTo(lane + 1000), $"warp 2 lane {lane} reads warp 3's write after barrier 2");
            Assert.That(r[32 + lane], Is.EqualTo(lane + 1000), $"warp 1 lane {lane} reads warp 3's write after barrier 0");
            Assert.That(r[96 + lane], Is.EqualTo(0xFFFF_FFFFu), $"warp 3 lane {lane} stores nothing");
        }
    }

    private const string Geometry = @"
.visible .entry geometry(.param .u64 out)
{
    .reg .b32 %r<24>;
    .reg .b64 %rd<4>;
    mov.u32 %r1, %tid.x;
    mov.u32 %r2, %tid.y;
    mov.u32 %r3, %tid.z;
    mov.u32 %r4, %ntid.x;
    mov.u32 %r5, %ntid.y;
    mov.u32 %r6, %ntid.z;
    mov.u32 %r7, %ctaid.x;
    mov.u32 %r8, %ctaid.y;
    mov.u32 %r9, %ctaid.z;
    mov.u32 %r10, %nctaid.x;
    mov.u32 %r11, %nctaid.y;
    mov.u32 %r12, %nctaid.z;
    mov.u32 %r13, %laneid;
    mov.u32 %r14, %warpid;
    mad.lo.s32 %r15, %r9, %r11, %r8;
    mad.lo.s32 %r15, %r15, %r10, %r7;
    mad.lo.s32 %r16, %r3, %r5, %r2;
    mad.lo.s32 %r16, %r16, %r4, %r1;
    mul.lo.s32 %r17, %r4, %r5;
    mul.lo.s32 %r17, %r17, %r6;
    mad.lo.s32 %r18, %r15, %r17, %r16;
    ld.param.u64 %rd1, [out];
    mul.wide.u32 %rd2, %r18, 64;
    add.s64 %rd3, %rd1, %rd2;
    st.global.v4.u32 [%rd3], {%r1, %r2, %r3, %r4};
    st.global.v4.u32 [%rd3+16], {%r5, %r6, %r7, %r8};
    st.global.v4.u32 [%rd3+32], {%r9, %r10, %r11, %r12};
    st.global.v2.u32 [%rd3+48], {%r13, %r14};
    ret;
}";

    [Test]
    public void SpecialRegistersDescribeA3DGridOf3DBlocks()
    {
        using var h = new EmuHarness();
        var grid = new Dim3(2, 3, 2);
        var block = new Dim3(8, 4, 3); // 96 threads: three warps
        int threads = (int)(grid.Count * block.Count);
        ulong o = h.Upload(Enumerable.Repeat(0xFFFF_FFFFu, threads * 16).ToArray());
        h.Launch(h.Load(Geometry, "geometry"), new LaunchConfig(grid, block, 0), o);
        var r = h.Download<uint>(o, threads * 16);
        for (uint cz = 0; cz < grid.Z; cz++)
        {
            for (uint cy = 0; cy < grid.Y; cy++)
            {
                for (uint cx = 0; cx < grid.X; cx++)
                {
                    for (uint tz = 0; tz < block.Z; tz++)
                    {
                        for (uint ty = 0; ty < block.Y; ty++)
                        {
                            for (uint tx = 0; tx < block.X; tx++)
                            {
                                uint linear = tx + (block.X * (ty + (block.Y * tz)));
                                uint cta = cx + (grid.X * (cy + (grid.Y * cz)));
                                int at = (int)((cta * block.Count) + linear) * 16;
                                uint[] expected = [tx, ty, tz, block.X, block.Y, block.Z, cx, cy, cz, grid.X, grid.Y, grid.Z, linear % 32, linear / 32];
                                Assert.That(r.AsSpan(at, 14).ToArray(), Is.EqualTo(expected), $"CTA ({cx},{cy},{cz}) thread ({tx},{ty},{tz})");
                            }
                        }
                    }
                }
            }
        }
    }

    [Test]
    public void GuardedInstructionsLeaveOtherLanesUntouched()
    {
        var cases = new List<ulong[]>();
        for (ulong i = 0; i < 8; i++)
        {
            cases.Add([i * 10, 5, i % 2, (i / 2) % 2]);
        }
        Check("mov.u32 %D, 7;\n    @%C add.s32 %D, %A, %B;\n    @!%E mul.lo.s32 %D, %D, 2", B32, [B32, B32, Pred, Pred], cases,
            c => ((c[2] != 0 ? c[0] + c[1] : 7) * (c[3] == 0 ? 2UL : 1UL)) & 0xFFFF_FFFF);
        Check("mov.u32 %D, 1;\n    @!%C bra $SKIP;\n    mov.u32 %D, 2;\n$SKIP:\n    add.s32 %D, %D, 10", B32, [B32, B32, Pred], cases, c => c[2] != 0 ? 12UL : 11UL);
        Check("mov.pred %D, 0;\n    @%C setp.eq.u32 %D, %A, %A", Pred, [B32, B32, Pred], cases, c => c[2]);
    }

    private const string WarpSyncKernel = @"
.visible .entry warpsync(.param .u64 out, .param .u32 exitLanes)
{
    .reg .pred %p<3>;
    .reg .b32 %r<8>;
    .reg .b64 %rd<6>;
    .shared .align 4 .b32 slots[32];
    ld.param.u64 %rd1, [out];
    cvta.to.global.u64 %rd1, %rd1;
    ld.param.u32 %r7, [exitLanes];
    mov.u32 %r1, %tid.x;
    setp.lt.u32 %p2, %r1, %r7;
    @%p2 bra DONE;
    mov.u32 %r2, slots;
    shl.b32 %r3, %r1, 2;
    add.u32 %r4, %r2, %r3;
    // The lower half writes on a branch of its own: the warp diverges.
    setp.lt.u32 %p1, %r1, 16;
    @!%p1 bra SYNC;
    mul.lo.u32 %r5, %r1, 10;
    st.shared.u32 [%r4], %r5;
SYNC:
    @%p1 bra READY;
    mul.lo.u32 %r5, %r1, 10;
    st.shared.u32 [%r4], %r5;
READY:
    bar.warp.sync -1;
    xor.b32 %r6, %r1, 16;
    shl.b32 %r6, %r6, 2;
    add.u32 %r6, %r2, %r6;
    ld.shared.u32 %r5, [%r6];
    mul.wide.u32 %rd2, %r1, 4;
    add.u64 %rd3, %rd1, %rd2;
    st.global.u32 [%rd3], %r5;
DONE:
    ret;
}";

    [Test]
    public void BarWarpSyncConvergesDivergedLanesAndNamesMembersThatNeverArrive()
    {
        // __syncwarp: each lane reads the slot its partner (lane ^ 16) wrote on the other branch.
        using var h = new EmuHarness();
        var f = h.Load(WarpSyncKernel, "warpsync");
        ulong o = h.Alloc<uint>(32);
        h.Launch(f, 1, 32, o, 0u);
        Assert.That(h.Download<uint>(o, 32), Is.EqualTo(Enumerable.Range(0, 32).Select(l => (uint)((l ^ 16) * 10)).ToArray()));

        // Lanes 0-3 exit: a full member mask waits for lanes that never come, which is an error.
        using var h2 = new EmuHarness();
        var f2 = h2.Load(WarpSyncKernel, "warpsync");
        var e = Assert.Throws<Zoetrope.Emulator.EmulatorException>(() => h2.Launch(f2, 1, 32, h2.Alloc<uint>(32), 4u))!;
        Assert.That(e.Message, Does.Contain("bar.warp"), e.Message);
    }
}
