// Warp-wide data exchange and the byte permute: shfl.sync, vote.sync, redux.sync, prmt.
// ISA sections: "Data Movement and Conversion Instructions: shfl.sync" (the Semantics pseudo-code,
// implemented literally below; results are undefined when a lane sources an inactive lane or runs
// without being in membermask), "Parallel Synchronization and Communication Instructions: vote.sync"
// (ballot: inactive lanes contribute 0), "...: redux.sync" (.add truncated to 32 bits; .min/.max on
// .u32/.s32; .and/.or/.xor on .b32; .min/.max .f32 with .abs/.NaN), and "Data Movement and
// Conversion Instructions: prmt" (the generic selector with sign replication, and the table for
// .f4e .b4e .rc8 .ecl .ecr .rc16).
using System.Numerics;

namespace Zoetrope.Emulator.Isa;

internal enum ShflMode : byte
{
    Up,
    Down,
    Bfly,
    Idx,
}

internal enum PrmtMode : byte
{
    Default,
    F4e,
    B4e,
    Rc8,
    Ecl,
    Ecr,
    Rc16,
}

internal enum ReduxOp : byte
{
    Add,
    Min,
    Max,
    And,
    Or,
    Xor,
}

internal static class WarpOps
{
    /// <summary>
    /// shfl.sync.mode.b32 d|p, a, b, c, membermask for the lanes in <paramref name="activeMask"/>
    /// (lanes that execute it: active and guard predicate true). Lanes outside it are not written.
    /// Returns the lanes whose result the ISA leaves undefined: those that read a lane outside
    /// activeMask or outside membermask, and executing lanes missing from membermask. Such lanes
    /// still get a value (the source's <paramref name="values"/> entry, or their own when the source
    /// lane did not execute) so the caller can choose to flag rather than fail.
    /// </summary>
    internal static uint Shfl(ShflMode mode, ReadOnlySpan<uint> values, ReadOnlySpan<uint> b, ReadOnlySpan<uint> c,
        uint memberMask, uint activeMask, Span<uint> dst, Span<bool> predOut)
    {
        uint undefined = 0;
        for (int lane = 0; lane < 32; lane++)
        {
            if ((activeMask & (1u << lane)) == 0)
            {
                continue;
            }
            int bval = (int)(b[lane] & 0x1F);
            int cval = (int)(c[lane] & 0x1F);
            int mask = (int)((c[lane] >> 8) & 0x1F);
            int maxLane = (lane & mask) | (cval & ~mask);
            int minLane = lane & mask;
            int j;
            bool pval;
            switch (mode)
            {
                case ShflMode.Up:
                    j = lane - bval;
                    pval = j >= maxLane;
                    break;
                case ShflMode.Down:
                    j = lane + bval;
                    pval = j <= maxLane;
                    break;
                case ShflMode.Bfly:
                    j = lane ^ bval;
                    pval = j <= maxLane;
                    break;
                default:
                    j = minLane | (bval & ~mask);
                    pval = j <= maxLane;
                    break;
            }
            if (!pval)
            {
                j = lane;
            }
            bool sourceRan = (activeMask & (1u << j)) != 0;
            if (!sourceRan || (memberMask & (1u << j)) == 0 || (memberMask & (1u << lane)) == 0)
            {
                undefined |= 1u << lane;
            }
            dst[lane] = sourceRan ? values[j] : values[lane];
            predOut[lane] = pval;
        }
        return undefined;
    }

    /// <summary>
    /// prmt.b32{.mode} d, a, b, c. Bytes of {b, a} are numbered 0..7 from a's least significant byte.
    /// </summary>
    internal static uint Prmt(uint a, uint b, uint c, PrmtMode mode)
    {
        ulong source = ((ulong)b << 32) | a;
        uint d = 0;
        for (int k = 0; k < 4; k++)
        {
            int sel;
            bool replicateSign = false;
            if (mode == PrmtMode.Default)
            {
                int ctl = (int)((c >> (4 * k)) & 0xF);
                sel = ctl & 7;
                replicateSign = (ctl & 8) != 0;
            }
            else
            {
                sel = ModeSelect(mode, (int)(c & 3), k);
            }
            uint byteValue = (uint)(source >> (8 * sel)) & 0xFF;
            if (replicateSign)
            {
                byteValue = (byteValue & 0x80) != 0 ? 0xFFu : 0u;
            }
            d |= byteValue << (8 * k);
        }
        return d;
    }

    // The ISA's table, as "d.b3 d.b2 d.b1 d.b0" source bytes written as hex nibbles per selector.
    private static readonly ushort[][] ModeTable =
    [
        [0x3210, 0x4321, 0x5432, 0x6543], // f4e: forward 4 extract
        [0x5670, 0x6701, 0x7012, 0x0123], // b4e: backward 4 extract
        [0x0000, 0x1111, 0x2222, 0x3333], // rc8: replicate 8
        [0x3210, 0x3211, 0x3222, 0x3333], // ecl: edge clamp left
        [0x0000, 0x1110, 0x2210, 0x3210], // ecr: edge clamp right
        [0x1010, 0x3232, 0x1010, 0x3232], // rc16: replicate 16
    ];

    private static int ModeSelect(PrmtMode mode, int selector, int destByte) =>
        (ModeTable[(int)mode - 1][selector] >> (4 * destByte)) & 0xF;

    /// <summary>vote.sync.all: every participating lane's predicate is true.</summary>
    internal static bool VoteAll(uint predicates, uint participants) => (predicates & participants) == participants;

    /// <summary>vote.sync.any: some participating lane's predicate is true.</summary>
    internal static bool VoteAny(uint predicates, uint participants) => (predicates & participants) != 0;

    /// <summary>vote.sync.uni: all participating lanes agree.</summary>
    internal static bool VoteUni(uint predicates, uint participants)
    {
        uint p = predicates & participants;
        return p == 0 || p == participants;
    }

    /// <summary>vote.sync.ballot.b32: bit i set when lane i participates and its predicate is true.</summary>
    internal static uint Ballot(uint predicates, uint participants) => predicates & participants;

    /// <summary>
    /// redux.sync.op.{u32,s32,b32} over the lanes in <paramref name="participants"/> (membermask
    /// lanes that executed). With no participants the result is the operation's identity.
    /// </summary>
    internal static uint Redux(ReduxOp op, bool signed, ReadOnlySpan<uint> values, uint participants)
    {
        uint acc = op switch
        {
            ReduxOp.And => uint.MaxValue,
            ReduxOp.Min => signed ? (uint)int.MaxValue : uint.MaxValue,
            ReduxOp.Max => signed ? unchecked((uint)int.MinValue) : 0u,
            _ => 0u,
        };
        for (uint m = participants; m != 0; m &= m - 1)
        {
            uint v = values[BitOperations.TrailingZeroCount(m)];
            acc = op switch
            {
                ReduxOp.Add => unchecked(acc + v),
                ReduxOp.And => acc & v,
                ReduxOp.Or => acc | v,
                ReduxOp.Xor => acc ^ v,
                ReduxOp.Min => signed ? (uint)Math.Min((int)acc, (int)v) : Math.Min(acc, v),
                _ => signed ? (uint)Math.Max((int)acc, (int)v) : Math.Max(acc, v),
            };
        }
        return acc;
    }

    /// <summary>
    /// redux.sync.{min,max}{.abs}{.NaN}.f32: -0 &lt; +0; without .NaN only non-NaN inputs count and
    /// all-NaN gives the canonical NaN; with .NaN any NaN gives the canonical NaN.
    /// </summary>
    internal static uint ReduxF32(bool max, bool abs, bool propagateNaN, ReadOnlySpan<uint> values, uint participants)
    {
        const uint CanonicalNaN = 0x7FFF_FFFF;
        uint? best = null;
        for (uint m = participants; m != 0; m &= m - 1)
        {
            uint v = values[BitOperations.TrailingZeroCount(m)];
            if (abs)
            {
                v &= 0x7FFF_FFFF;
            }
            if (float.IsNaN(Approx.F(v)))
            {
                if (propagateNaN)
                {
                    return CanonicalNaN;
                }
                continue;
            }
            if (best is not uint cur)
            {
                best = v;
                continue;
            }
            int cmp = HalfOps.CompareWithSignedZero(Approx.F(v), Approx.F(cur));
            if (max ? cmp > 0 : cmp < 0)
            {
                best = v;
            }
        }
        return best ?? CanonicalNaN;
    }
}
