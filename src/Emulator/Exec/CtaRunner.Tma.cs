using System.Numerics;
using Zoetrope.Emulator.Isa;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Hopper's bulk asynchronous copies (PTX ISA, "Data movement: cp.async.bulk" and
/// "cp.async.bulk.tensor"): a contiguous block or a tensor map's box between global and shared
/// memory. They complete eagerly at issue: a load writes shared memory and completes its bytes
/// on the mbarrier (complete_tx) at once; a store writes global memory at once. A store's shared
/// source is still read by the hardware until its bulk group is waited for, so the bulk groups
/// keep that bookkeeping for the checks (see AsyncProxyTracker). Eager completion is one order the hardware may produce; what the
/// consumers may rely on is still checked: they find the data only through the mbarrier (see
/// CtaRunner.Mbarrier.cs for how the race checker treats the phase).
/// </summary>
internal sealed unsafe partial class CtaRunner
{
    private void BulkCopy(Warp w, Instr ins, uint active)
    {
        if (ins.Op is OpCode.CpBulkCommit or OpCode.CpBulkWait)
        {
            BulkGroups(w, ins, active); // every bulk copy has completed at issue: only the checks' bookkeeping
            return;
        }
        foreach (int l in Lanes(active))
        {
            if (ins.Has("multicast::cluster"))
            {
                throw Fault(EmuError.NotSupported, w, l, _curPc, $"'{ins.Opcode}': .multicast::cluster is not emulated (clusters are of one CTA)");
            }
            if (ins.Parts.Any(p => p is "im2col" or "im2col_no_offs" or "tile::gather4" or "tile::scatter4") || ins.Parts.Any(p => p.StartsWith("reduce", StringComparison.Ordinal)))
            {
                throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}' (only .tile bulk tensor copies)");
            }
            // The destination state space comes first: .shared::cluster.global loads, .global.shared::cta stores.
            int global = Array.IndexOf(ins.Parts, "global");
            int shared = Array.FindIndex(ins.Parts, p => p.StartsWith("shared", StringComparison.Ordinal));
            if (global < 0 || shared < 0 || Array.FindLastIndex(ins.Parts, p => p.StartsWith("shared", StringComparison.Ordinal)) != shared)
            {
                throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement '{ins.Opcode}' (global <-> shared bulk copies only)");
            }
            bool load = shared < global;
            if (ins.Op == OpCode.CpBulkTensor)
            {
                TensorCopy(w, ins, l, load);
            }
            else
            {
                FlatCopy(w, ins, l, load);
            }
        }
    }

    /// <summary>cp.async.bulk [dst], [src], size{, [mbar]}: size a multiple of 16, both addresses 16-byte aligned.</summary>
    private void FlatCopy(Warp w, Instr ins, int l, bool load)
    {
        long size = (long)Get(w, ins.Ops[2], l);
        if (size <= 0 || size % 16 != 0)
        {
            throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"cp.async.bulk of {size} bytes: the size must be a positive multiple of 16");
        }
        var sharedOp = load ? ins.Ops[0] : ins.Ops[1];
        int smem = SharedOperand(w, ins, sharedOp, l, (int)size, 16, "cp.async.bulk's shared operand");
        ulong gaddr = Address(w, load ? ins.Ops[1] : ins.Ops[0], l);
        if (gaddr % 16 != 0)
        {
            throw Fault(EmuError.MisalignedAddress, w, l, _curPc, $"cp.async.bulk's global address 0x{gaddr:x} is not 16-byte aligned");
        }
        byte* g = GlobalBytes(w, l, gaddr, (int)size, write: !load);
        var sm = new Span<byte>(_shared, smem, (int)size);
        var gm = new Span<byte>(g, (int)size);
        CountBulk(load, size, (long)(((gaddr + (ulong)size - 1) >> 5) - (gaddr >> 5) + 1));
        if (load)
        {
            int bar = SharedOperand(w, ins, ins.Ops[3], l, 8, 8, "the mbarrier operand");
            AsyncWrite(w, l, smem, (int)size, bar);
            gm.CopyTo(sm);
            CompleteTx(w, l, bar, size, "cp.async.bulk");
        }
        else
        {
            ShadowRead(w, l, smem, (int)size);
            BulkStoreSource(w, ins, l, smem, (int)size);
            sm.CopyTo(gm);
        }
    }

    /// <summary>Global sectors one box touches (the TMA reads or writes each in-bounds element once).</summary>
    private readonly HashSet<ulong> _bulkSectors = new();

    /// <summary>
    /// Counts one bulk copy (a flat block or a tensor box) in the launch statistics: one global
    /// request of the in-bounds bytes it moves and the 32-byte sectors they touch (ideal: the
    /// bytes over 32, so a well-formed box is fully coalesced), and the bytes it moves in shared
    /// memory. The TMA is not a warp request, so its shared side is no bank-conflict wavefronts.
    /// </summary>
    private void CountBulk(bool load, long bytes, long sectors)
    {
        long ideal = (bytes + 31) / 32;
        if (load)
        {
            Stats.GlobalLoadRequests++;
            Stats.GlobalLoadSectors += sectors;
            Stats.GlobalLoadIdealSectors += ideal;
            Stats.GlobalLoadBytes += bytes;
        }
        else
        {
            Stats.GlobalStoreRequests++;
            Stats.GlobalStoreSectors += sectors;
            Stats.GlobalStoreIdealSectors += ideal;
            Stats.GlobalStoreBytes += bytes;
        }
        Stats.SharedBulkBytes += bytes;
    }

    private byte* GlobalBytes(Warp w, int l, ulong addr, int size, bool write)
    {
        if (_ctx.FindAllocation(addr, size) < 0)
        {
            throw Fault(EmuError.IllegalAddress, w, l, _curPc,
                $"out-of-bounds global {(write ? "write" : "read")} of {size} bytes at 0x{addr:x} by a bulk copy: {NearestAllocation(addr)}");
        }
        return (byte*)addr;
    }

    private void ShadowWrite(Warp w, int l, int offset, int size)
    {
        if (_ctx.Checks && _shadow.Write(offset, size, w.Id, asyncProxy: true) is { } finding)
        {
            throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"the bulk copy {finding}");
        }
    }

    /// <summary>Records a bulk copy's write into shared memory, for the phase of <paramref name="bar"/> it completes.</summary>
    private void AsyncWrite(Warp w, int l, int offset, int size, int bar)
    {
        var m = Live(w, l, bar, "complete_tx");
        ShadowWrite(w, l, offset, size);
        if (_ctx.Checks)
        {
            _shadow.TagAsync(offset, size, bar, m.Phase);
        }
    }

    private void ShadowRead(Warp w, int l, int offset, int size)
    {
        _curLane = l;
        if (_ctx.Checks && _shadow.Read(offset, size, w.Id, asyncReader: "the bulk store") is { } finding)
        {
            throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"the bulk copy {finding}");
        }
    }

    /// <summary>
    /// The tensor map a cp.async.bulk.tensor names: a kernel parameter (the param-space address
    /// of a <c>__grid_constant__</c> parameter, from <c>mov.u64 %rd, param</c> or cvta.param) or
    /// 64-byte aligned global memory.
    /// </summary>
    private TensorMap ReadTensorMap(Warp w, int l, Operand mem)
    {
        ulong a = Address(w, mem, l);
        ReadOnlySpan<byte> bytes;
        if (_ctx.FindAllocation(a, TensorMap.Bytes) >= 0)
        {
            if (a % 64 != 0)
            {
                throw Fault(EmuError.MisalignedAddress, w, l, _curPc, $"the tensor map at 0x{a:x} is not 64-byte aligned");
            }
            bytes = new ReadOnlySpan<byte>((void*)a, TensorMap.Bytes);
        }
        else if (a + TensorMap.Bytes <= (ulong)_ctx.Params.Length)
        {
            bytes = _ctx.Params.AsSpan((int)a, TensorMap.Bytes);
        }
        else
        {
            throw Fault(EmuError.IllegalAddress, w, l, _curPc,
                $"the tensor map address 0x{a:x} is neither a kernel parameter (the parameter block has {_ctx.Params.Length} bytes) nor 128 bytes of global memory");
        }
        return TensorMap.Decode(bytes, out string? why)
            ?? throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"cp.async.bulk.tensor: {why}");
    }

    /// <summary>
    /// cp.async.bulk.tensor.Nd (tile mode): the box at the signed coordinates, dense in shared
    /// memory in box order (innermost dimension first), the swizzle applied to the shared byte
    /// offsets. A load fills out-of-bounds elements with zeros (NaN with the map's NaN fill) and credits the full box bytes to
    /// the mbarrier; a store skips them.
    /// </summary>
    private void TensorCopy(Warp w, Instr ins, int l, bool load)
    {
        var tmapOp = load ? ins.Ops[1] : ins.Ops[0];
        int rank = ins.Parts.FirstOrDefault(p => p.Length == 2 && p[1] == 'd' && p[0] is >= '1' and <= '5') is { } nd ? nd[0] - '0' : 0;
        var map = ReadTensorMap(w, l, tmapOp);
        if (rank != map.Rank || tmapOp.Elems.Length != rank)
        {
            throw Fault(EmuError.LaunchFailed, w, l, _curPc,
                $"'{ins.Opcode}' with {tmapOp.Elems.Length} coordinates on a rank-{map.Rank} tensor map: the .{rank}d, the coordinates and the map's rank must agree");
        }
        if (map.Interleave != 0)
        {
            throw Fault(EmuError.NotSupported, w, l, _curPc, "tensor maps with interleave are not emulated");
        }
        int box = map.BoxBytes;
        int align = Swizzle.Repeat(map.Swizzle);
        int smem = SharedOperand(w, ins, load ? ins.Ops[0] : ins.Ops[1], l, box, 1, "cp.async.bulk.tensor's shared box");
        if (smem % align != 0)
        {
            throw Fault(EmuError.MisalignedAddress, w, l, _curPc,
                $"cp.async.bulk.tensor's shared box at offset {smem} is not {align}-byte aligned (the ISA's requirement {(map.Swizzle == SwizzleMode.None ? "for a box without swizzle" : $"for the {Swizzle.Span(map.Swizzle)}B swizzle, whose pattern repeats every {align} bytes")})");
        }
        Span<long> c = stackalloc long[5];
        Span<int> n = stackalloc int[5];
        for (int d = 0; d < 5; d++)
        {
            c[d] = d < rank ? (int)(uint)Get(w, tmapOp.Elems[d], l) : 0;
            n[d] = d < rank ? map.BoxElems(d) : 1;
        }
        int bar = load ? SharedOperand(w, ins, ins.Ops[2], l, 8, 8, "the mbarrier operand") : -1;
        if (load)
        {
            AsyncWrite(w, l, smem, box, bar);
        }
        else
        {
            ShadowRead(w, l, smem, box);
            BulkStoreSource(w, ins, l, smem, box);
        }
        int esize = map.ElementSize;
        int offset = 0;
        long inBytes = 0;
        _bulkSectors.Clear();
        for (int i4 = 0; i4 < n[4]; i4++)
        for (int i3 = 0; i3 < n[3]; i3++)
        for (int i2 = 0; i2 < n[2]; i2++)
        for (int i1 = 0; i1 < n[1]; i1++)
        for (int i0 = 0; i0 < n[0]; i0++, offset += esize)
        {
            var s = new Span<byte>(_shared, smem + Swizzle.Apply(offset, map.Swizzle), esize);
            ulong g = map.GlobalAddress;
            bool inside = true;
            ReadOnlySpan<int> idx = [i0, i1, i2, i3, i4];
            for (int d = 0; d < rank; d++)
            {
                long x = c[d] + ((long)idx[d] * map.ElementStrides[d]);
                inside &= x >= 0 && (ulong)x < map.Dims[d];
                g += (ulong)x * map.Strides[d];
            }
            if (!inside)
            {
                if (load)
                {
                    map.FillOutOfBounds(s);
                }
                continue;
            }
            inBytes += esize;
            for (ulong sector = g >> 5; sector <= (g + (ulong)esize - 1) >> 5; sector++)
            {
                _bulkSectors.Add(sector);
            }
            var gm = new Span<byte>(GlobalBytes(w, l, g, esize, write: !load), esize);
            if (load)
            {
                gm.CopyTo(s);
            }
            else
            {
                s.CopyTo(gm);
            }
        }
        CountBulk(load, inBytes, _bulkSectors.Count);
        if (load)
        {
            CompleteTx(w, l, bar, box, "cp.async.bulk.tensor");
        }
    }
}
