// shfl.sync, prmt, vote.sync, redux.sync (Isa/WarpOps.cs) against the ISA's pseudo-code and tables:
// shfl's clamp/segment-mask packing in c (c[4:0] clamp, c[12:8] segment mask, the way CUDA's
// width argument encodes it: c = ((32 - width) << 8) | (up ? 0 : 0x1F)), out-of-range sources,
// undefined reads from inactive lanes; every prmt mode and the generic selector's sign replication.
using NUnit.Framework;
using Zoetrope.Emulator.Isa;

namespace Zoetrope.Tests.Emulator;

public class IsaWarpOpsTests
{
    private static uint[] Values() => Enumerable.Range(0, 32).Select(l => 100u + (uint)l).ToArray();

    private static uint[] Same(uint v) => Enumerable.Repeat(v, 32).ToArray();

    private static (uint[] Dst, bool[] Pred, uint Undefined) Shfl(ShflMode mode, uint b, uint c, uint member = ~0u, uint active = ~0u)
    {
        var dst = Same(0xCAFE);
        var pred = new bool[32];
        uint undefined = WarpOps.Shfl(mode, Values(), Same(b), Same(c), member, active, dst, pred);
        return (dst, pred, undefined);
    }

    private static uint C(int width, bool up) => ((uint)(32 - width) << 8) | (up ? 0u : 0x1Fu);

    [Test]
    public void IdxBroadcastsWithinEachSegment()
    {
        var (dst, pred, undefined) = Shfl(ShflMode.Idx, 5, C(32, false));
        Assert.That(dst, Is.All.EqualTo(105u));
        Assert.That(pred, Is.All.True);
        Assert.That(undefined, Is.EqualTo(0u));
        (dst, _, _) = Shfl(ShflMode.Idx, 3, C(8, false));
        Assert.That(dst, Is.EqualTo(Enumerable.Range(0, 32).Select(l => 100u + (uint)((l & ~7) | 3))));
        (dst, _, _) = Shfl(ShflMode.Idx, 37, C(32, false));   // only b[4:0] counts: 37 -> 5
        Assert.That(dst, Is.All.EqualTo(105u));
    }

    [Test]
    public void UpKeepsTheLowLanesOfEachSegment()
    {
        var (dst, pred, _) = Shfl(ShflMode.Up, 2, C(8, true));
        for (int l = 0; l < 32; l++)
        {
            bool inRange = l % 8 >= 2;
            Assert.That(pred[l], Is.EqualTo(inRange), $"lane {l}");
            Assert.That(dst[l], Is.EqualTo(inRange ? 98u + (uint)l : 100u + (uint)l), $"lane {l}");
        }
    }

    [Test]
    public void DownKeepsTheHighLanesOfEachSegment()
    {
        var (dst, pred, _) = Shfl(ShflMode.Down, 3, C(32, false));
        Assert.That(pred.Take(29), Is.All.True);
        Assert.That(pred.Skip(29), Is.All.False);
        Assert.That(dst[28], Is.EqualTo(131u));
        Assert.That(dst[30], Is.EqualTo(130u));
        (dst, pred, _) = Shfl(ShflMode.Down, 1, C(16, false));
        Assert.That((dst[14], pred[14], dst[15], pred[15], dst[31], pred[31]), Is.EqualTo((115u, true, 115u, false, 131u, false)));
    }

    [Test]
    public void BflyExchangesAndFollowsThePseudoCodeLiterally()
    {
        var (dst, pred, _) = Shfl(ShflMode.Bfly, 1, C(32, false));
        Assert.That(dst, Is.EqualTo(Enumerable.Range(0, 32).Select(l => 100u + (uint)(l ^ 1))));
        Assert.That(pred, Is.All.True);
        // xor 16 with width 16: lanes 0-15 would read 16-31 > maxLane (15): own value, p false.
        // Lanes 16-31 read j = lane - 16 <= maxLane (31): the pseudo-code lets them through.
        (dst, pred, _) = Shfl(ShflMode.Bfly, 16, C(16, false));
        Assert.That((dst[4], pred[4], dst[20], pred[20]), Is.EqualTo((104u, false, 104u, true)));
    }

    [Test]
    public void ReadsFromLanesThatDidNotRunAreFlaggedUndefined()
    {
        // Lane 0 is inactive: every other lane reads it; the value falls back to the lane's own.
        var (dst, _, undefined) = Shfl(ShflMode.Idx, 0, C(32, false), active: ~1u);
        Assert.That(undefined, Is.EqualTo(~1u));
        Assert.That(dst[0], Is.EqualTo(0xCAFEu));              // not written
        Assert.That(dst[7], Is.EqualTo(107u));
        // Member mask without lanes 16-31 while all 32 run: those lanes are outside membermask.
        (dst, _, undefined) = Shfl(ShflMode.Idx, 0, C(32, false), member: 0x0000_FFFFu);
        Assert.That(undefined, Is.EqualTo(0xFFFF_0000u));
        Assert.That(dst[20], Is.EqualTo(100u));
        // An out-of-range source is not undefined: the lane keeps its own value.
        (_, _, undefined) = Shfl(ShflMode.Up, 1, C(32, true), active: ~0u);
        Assert.That(undefined, Is.EqualTo(0u));
    }

    private const uint A = 0x3322_1100, B = 0x7766_5544;

    [TestCase(0x3210u, 0x3322_1100u)]   // identity
    [TestCase(0x7654u, 0x7766_5544u)]   // all of b
    [TestCase(0x0123u, 0x0011_2233u)]   // reversed
    [TestCase(0x4051u, 0x4400_5511u)]   // mixed
    [TestCase(0xFFFF_3210u, 0x3322_1100u)] // bits above 15 are ignored
    public void PrmtDefaultSelectsBytes(uint c, uint expected) =>
        Assert.That(WarpOps.Prmt(A, B, c, PrmtMode.Default), Is.EqualTo(expected));

    [Test]
    public void PrmtDefaultReplicatesTheSignWhenTheSelectorMsbIsSet()
    {
        // Byte 7 of {b, a} is 0xF7 (negative), byte 0 is 0x00 (positive).
        Assert.That(WarpOps.Prmt(A, 0xF766_5544, 0x8F7F, PrmtMode.Default), Is.EqualTo(0x00FF_F7FFu));
    }

    [TestCase("F4e", 0u, 0x3322_1100u)]
    [TestCase("F4e", 1u, 0x4433_2211u)]
    [TestCase("F4e", 3u, 0x6655_4433u)]
    [TestCase("B4e", 0u, 0x5566_7700u)]
    [TestCase("B4e", 1u, 0x6677_0011u)]
    [TestCase("B4e", 3u, 0x0011_2233u)]
    [TestCase("Rc8", 2u, 0x2222_2222u)]
    [TestCase("Ecl", 1u, 0x3322_1111u)]
    [TestCase("Ecl", 3u, 0x3333_3333u)]
    [TestCase("Ecr", 2u, 0x2222_1100u)]
    [TestCase("Ecr", 0u, 0x0000_0000u)]
    [TestCase("Rc16", 1u, 0x3322_3322u)]
    [TestCase("Rc16", 2u, 0x1100_1100u)]
    [TestCase("F4e", 0xFFFF_FFF5u, 0x4433_2211u)]   // only c[1:0] counts
    public void PrmtModesFollowTheIsaTable(string mode, uint c, uint expected) =>
        Assert.That(WarpOps.Prmt(A, B, c, Enum.Parse<PrmtMode>(mode)), Is.EqualTo(expected));

    [Test]
    public void VoteOverParticipants()
    {
        const uint participants = 0x0000_FFFF;
        Assert.That(WarpOps.VoteAll(0x0000_FFFF, participants), Is.True);
        Assert.That(WarpOps.VoteAll(0x0000_FFFE, participants), Is.False);
        Assert.That(WarpOps.VoteAll(0xFFFF_FFFE, participants), Is.False);
        Assert.That(WarpOps.VoteAny(0xFFFF_0000, participants), Is.False);   // only non-participants vote yes
        Assert.That(WarpOps.VoteAny(0x0000_0100, participants), Is.True);
        Assert.That(WarpOps.VoteUni(0xFFFF_0000, participants), Is.True);    // all participants false
        Assert.That(WarpOps.VoteUni(0x0000_0001, participants), Is.False);
        Assert.That(WarpOps.Ballot(0xF0F0_F0F0, participants), Is.EqualTo(0x0000_F0F0u));
    }

    [Test]
    public void ReduxOverParticipants()
    {
        var v = new uint[32];
        v[0] = 0xFFFF_FFFF;   // -1 or 4294967295
        v[1] = 5;
        v[2] = 0x8000_0000;
        v[3] = 0x8000_0000;
        v[9] = 0x1234;        // not a participant below
        const uint p01 = 0b11, p23 = 0b1100, p0123 = 0b1111;
        Assert.That(WarpOps.Redux(ReduxOp.Min, signed: true, v, p01), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(WarpOps.Redux(ReduxOp.Min, signed: false, v, p01), Is.EqualTo(5u));
        Assert.That(WarpOps.Redux(ReduxOp.Max, signed: true, v, p01), Is.EqualTo(5u));
        Assert.That(WarpOps.Redux(ReduxOp.Max, signed: false, v, p01), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(WarpOps.Redux(ReduxOp.Add, signed: false, v, p23), Is.EqualTo(0u));   // truncated to 32 bits
        Assert.That(WarpOps.Redux(ReduxOp.Add, signed: true, v, p0123), Is.EqualTo(4u));
        Assert.That(WarpOps.Redux(ReduxOp.And, signed: false, v, p01), Is.EqualTo(5u));
        Assert.That(WarpOps.Redux(ReduxOp.Or, signed: false, v, p0123), Is.EqualTo(0xFFFF_FFFFu));
        Assert.That(WarpOps.Redux(ReduxOp.Xor, signed: false, v, p23), Is.EqualTo(0u));
        Assert.That(WarpOps.Redux(ReduxOp.Min, signed: true, v, p0123), Is.EqualTo(0x8000_0000u));
    }

    [Test]
    public void ReduxF32HandlesSignedZeroAbsAndNaN()
    {
        var v = new uint[32];
        v[0] = 0x0000_0000;   // +0
        v[1] = 0x8000_0000;   // -0
        v[2] = 0x7FC0_0000;   // NaN
        v[3] = 0xC000_0000;   // -2
        Assert.That(WarpOps.ReduxF32(max: false, abs: false, propagateNaN: false, v, 0b11), Is.EqualTo(0x8000_0000u));
        Assert.That(WarpOps.ReduxF32(max: true, abs: false, propagateNaN: false, v, 0b11), Is.EqualTo(0x0000_0000u));
        Assert.That(WarpOps.ReduxF32(max: false, abs: false, propagateNaN: false, v, 0b1111), Is.EqualTo(0xC000_0000u));
        Assert.That(WarpOps.ReduxF32(max: false, abs: false, propagateNaN: true, v, 0b1111), Is.EqualTo(0x7FFF_FFFFu));
        Assert.That(WarpOps.ReduxF32(max: true, abs: true, propagateNaN: false, v, 0b1111), Is.EqualTo(0x4000_0000u));
        Assert.That(WarpOps.ReduxF32(max: true, abs: false, propagateNaN: false, v, 0b100), Is.EqualTo(0x7FFF_FFFFu)); // all NaN
    }
}
