// stmatrix, elect.sync and setmaxnreg (Exec/CtaRunner.Wgmma.cs, Isa/LdMatrix.cs), as hand-written
// PTX. stmatrix's layout is restated from the ISA's figure for ldmatrix/stmatrix ("a group of four
// consecutive threads holds one row": element (row, col) of an 8x8 matrix is in lane 4*row + col/2,
// the lower column in the low half; .trans: lane 4*col + row/2, the lower row in the low half), and
// an ldmatrix of what stmatrix stored must give the registers back.
using NUnit.Framework;
using Zoetrope.Emulator;

namespace Zoetrope.Tests.Emulator;

public class IsaStMatrixTests
{
    private static uint Reg(int matrix, int lane) => (uint)(0x1000 * (matrix + 1) + (2 * lane)) | ((uint)(0x1000 * (matrix + 1) + (2 * lane) + 1) << 16);

    private static string StMatrixKernel(bool trans) => $$"""
        .visible .entry st(.param .u64 out)
        {
            .reg .b32 %r<40>;
            .reg .b64 %rd<8>;
            .shared .align 16 .b8 tile[512];
            mov.u32 %r1, %tid.x;
            shl.b32 %r2, %r1, 1;
            add.u32 %r3, %r2, 0x1000;
            add.u32 %r4, %r2, 0x1001;
            shl.b32 %r4, %r4, 16;
            or.b32 %r10, %r3, %r4;
            add.u32 %r11, %r10, 0x10001000;
            add.u32 %r12, %r11, 0x10001000;
            add.u32 %r13, %r12, 0x10001000;
            // Lane l names row l%8 of matrix l/8: tile + 128*(l/8) + 16*(l%8) = tile + 16*l.
            mov.u32 %r5, tile;
            shl.b32 %r6, %r1, 4;
            add.u32 %r7, %r5, %r6;
            stmatrix.sync.aligned.m8n8.x4{{(trans ? ".trans" : "")}}.shared::cta.b16 [%r7], {%r10, %r11, %r12, %r13};
            bar.warp.sync 0xffffffff;
            ldmatrix.sync.aligned.m8n8.x4{{(trans ? ".trans" : "")}}.shared.b16 {%r20, %r21, %r22, %r23}, [%r7];
            ld.shared.v4.u32 {%r30, %r31, %r32, %r33}, [%r7];
            ld.param.u64 %rd1, [out];
            mul.wide.u32 %rd2, %r1, 16;
            add.s64 %rd3, %rd1, %rd2;
            st.global.v4.u32 [%rd3], {%r30, %r31, %r32, %r33};
            add.s64 %rd4, %rd3, 512;
            st.global.v4.u32 [%rd4], {%r20, %r21, %r22, %r23};
            ret;
        }
        """;

    [TestCase(false)]
    [TestCase(true)]
    public void StMatrixX4StoresTheFragmentLayoutAndLdMatrixReadsItBack(bool trans)
    {
        using var h = new EmuHarness();
        var f = h.Load(StMatrixKernel(trans), "st");
        ulong pOut = h.Alloc<uint>(256);
        h.Launch(f, 1, 32, pOut);
        var words = h.Download<uint>(pOut, 256);
        var mem = new ushort[256];
        Buffer.BlockCopy(words, 0, mem, 0, 512);
        for (int i = 0; i < 4; i++)
        {
            for (int r = 0; r < 8; r++)
            {
                for (int c = 0; c < 8; c++)
                {
                    (int lane, int half) = trans ? ((4 * c) + (r / 2), r % 2) : ((4 * r) + (c / 2), c % 2);
                    ushort expected = (ushort)(Reg(i, lane) >> (16 * half));
                    Assert.That(mem[(i * 64) + (r * 8) + c], Is.EqualTo(expected), $"trans={trans} matrix {i} ({r},{c})");
                }
            }
        }
        for (int lane = 0; lane < 32; lane++)
        {
            for (int i = 0; i < 4; i++)
            {
                Assert.That(words[128 + (lane * 4) + i], Is.EqualTo(Reg(i, lane)), $"ldmatrix of stmatrix: lane {lane} matrix {i}");
            }
        }
    }

    [Test]
    public void ElectSyncPicksOneMemberAndTellsEveryMember()
    {
        const string ptx = """
            .visible .entry el(.param .u64 out)
            {
                .reg .b32 %r<8>;
                .reg .b64 %rd<4>;
                .reg .pred %p<4>;
                mov.u32 %r1, %tid.x;
                mov.u32 %r2, 0xffff;
                setp.lt.u32 %p1, %r1, 4;
                setp.ge.u32 %p2, %r1, 20;
                or.pred %p1, %p1, %p2;
                @%p1 bra $Lout;
                elect.sync %r2|%p3, 0x000ffff0;
                selp.u32 %r3, 256, 0, %p3;
                or.b32 %r2, %r2, %r3;
            $Lout:
                ld.param.u64 %rd1, [out];
                mul.wide.u32 %rd2, %r1, 4;
                add.s64 %rd3, %rd1, %rd2;
                st.global.u32 [%rd3], %r2;
                ret;
            }
            """;
        using var h = new EmuHarness();
        ulong pOut = h.Alloc<uint>(32);
        h.Launch(h.Load(ptx, "el"), 1, 32, pOut);
        var got = h.Download<uint>(pOut, 32);
        for (int l = 0; l < 32; l++)
        {
            uint expected = l is < 4 or >= 20 ? 0xffffu : l == 4 ? 4u | 256u : 4u;
            Assert.That(got[l], Is.EqualTo(expected), $"lane {l}");
        }
    }

    private static void SetMaxNReg(string instr)
    {
        string ptx = $$"""
            .visible .entry mr()
            {
                {{instr}}
                ret;
            }
            """;
        using var h = new EmuHarness();
        h.Launch(h.Load(ptx, "mr"), 1, 128);
    }

    [Test]
    public void SetMaxNRegChecksItsCount()
    {
        Assert.DoesNotThrow(() => SetMaxNReg("setmaxnreg.inc.sync.aligned.u32 240;"));
        Assert.DoesNotThrow(() => SetMaxNReg("setmaxnreg.dec.sync.aligned.u32 24;"));
        foreach (int bad in new[] { 20, 100, 264 })
        {
            var e = Assert.Throws<EmulatorException>(() => SetMaxNReg($"setmaxnreg.dec.sync.aligned.u32 {bad};"))!;
            Assert.That(e.Message, Does.Contain($"register count {bad} is invalid").And.Contain("warp 0 lane 0"));
        }
    }
}
