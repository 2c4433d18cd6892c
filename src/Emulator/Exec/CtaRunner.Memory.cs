using System.Numerics;
using System.Runtime.CompilerServices;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Loads, stores, atomics and cp.async in every state space, each access checked (global: inside
/// a live allocation; shared: inside the CTA's shared memory, plus the shadow checks; alignment
/// to the access size) and counted (global sectors per request, shared wavefronts per request).
/// </summary>
internal sealed unsafe partial class CtaRunner
{
    private enum Space : byte
    {
        Global,
        Shared,
        Local,
        Param,
    }

    private readonly ulong[] _laneAddr = new ulong[32];

    /// <summary>The address a memory operand names for one lane (base register or symbol, plus offset).</summary>
    private ulong Address(Warp w, Operand mem, int lane) =>
        (mem.Reg >= 0 ? w.R[(mem.Reg * 32) + lane] : 0) + mem.Imm;

    /// <summary>Resolves the state space of an access; generic addresses are told apart by window.</summary>
    private static Space Resolve(string space, ref ulong addr)
    {
        switch (space)
        {
            case "shared":
                return Space.Shared;
            case "local":
                return Space.Local;
            case "param":
                return Space.Param;
            case "global" or "const":
                return Space.Global;
            default:
                if (AddressSpace.IsShared(addr))
                {
                    addr -= AddressSpace.SharedWindow;
                    return Space.Shared;
                }
                if (AddressSpace.IsLocal(addr))
                {
                    addr -= AddressSpace.LocalWindow;
                    return Space.Local;
                }
                return Space.Global;
        }
    }

    /// <summary>A pointer to <paramref name="size"/> bytes at <paramref name="addr"/> in <paramref name="space"/>, checked.</summary>
    private byte* Locate(Warp w, int lane, Space space, ulong addr, int size, bool write, bool atomic = false)
    {
        if (size > 1 && (addr & (ulong)(size - 1)) != 0)
        {
            throw Fault(EmuError.MisalignedAddress, w, lane, _curPc, $"misaligned {size}-byte {space.ToString().ToLowerInvariant()} access at 0x{addr:x}");
        }
        switch (space)
        {
            case Space.Global:
            {
                if (_ctx.FindAllocation(addr, size) < 0)
                {
                    throw Fault(EmuError.IllegalAddress, w, lane, _curPc,
                        $"out-of-bounds global {(write ? "write" : "read")} of {size} bytes at 0x{addr:x}: {NearestAllocation(addr)}");
                }
                return (byte*)addr;
            }
            case Space.Shared:
            {
                if (addr + (ulong)size > (ulong)_ctx.SharedBytes)
                {
                    throw Fault(EmuError.IllegalAddress, w, lane, _curPc,
                        $"out-of-bounds shared {(write ? "write" : "read")} of {size} bytes at offset {(long)addr} (the CTA has {_ctx.SharedBytes} bytes: {_fn.StaticSharedBytes} static + {_ctx.Config.DynamicSharedBytes} dynamic)");
                }
                if (_ctx.Checks)
                {
                    _curLane = lane;
                    string? finding = write ? _shadow.Write((int)addr, size, w.Id, atomic) : _shadow.Read((int)addr, size, w.Id);
                    if (finding is not null)
                    {
                        throw Fault(EmuError.LaunchFailed, w, lane, _curPc, finding);
                    }
                }
                fixed (byte* p = _shared)
                {
                    return p + addr; // pinned (allocated on the pinned object heap)
                }
            }
            case Space.Local:
            {
                if (addr + (ulong)size > (ulong)w.LocalBytes)
                {
                    throw Fault(EmuError.IllegalAddress, w, lane, _curPc, $"out-of-bounds local access of {size} bytes at offset {(long)addr} (the thread has {w.LocalBytes} bytes)");
                }
                fixed (byte* p = w.Local)
                {
                    return p + (lane * w.LocalBytes) + (long)addr;
                }
            }
            default:
            {
                if (write)
                {
                    throw Fault(EmuError.IllegalAddress, w, lane, _curPc, "a store to kernel parameter space");
                }
                if (addr + (ulong)size > (ulong)_ctx.Params.Length)
                {
                    throw Fault(EmuError.IllegalAddress, w, lane, _curPc, $"parameter read of {size} bytes at offset {(long)addr} beyond the {_ctx.Params.Length}-byte parameter block");
                }
                fixed (byte* p = _ctx.Params)
                {
                    return p + addr;
                }
            }
        }
    }

    private string NearestAllocation(ulong addr)
    {
        var a = _ctx.Allocations;
        if (a.Length == 0)
        {
            return "no device memory is allocated";
        }
        var best = a.MinBy(x => addr < x.Start ? x.Start - addr : addr >= x.Start + x.Length ? addr - (x.Start + x.Length) + 1 : 0);
        long delta = addr < best.Start ? -(long)(best.Start - addr) : (long)(addr - best.Start);
        return addr >= best.Start + best.Length
            ? $"{(long)(addr - best.Start - best.Length)} bytes past the end of the {best.Length}-byte allocation at 0x{best.Start:x}"
            : $"{-delta} bytes before the {best.Length}-byte allocation at 0x{best.Start:x}";
    }

    private static ulong ReadBits(byte* p, int size) => size switch
    {
        1 => *p,
        2 => Unsafe.ReadUnaligned<ushort>(p),
        4 => Unsafe.ReadUnaligned<uint>(p),
        _ => Unsafe.ReadUnaligned<ulong>(p),
    };

    private static void WriteBits(byte* p, int size, ulong v)
    {
        switch (size)
        {
            case 1: *p = (byte)v; break;
            case 2: Unsafe.WriteUnaligned(p, (ushort)v); break;
            case 4: Unsafe.WriteUnaligned(p, (uint)v); break;
            default: Unsafe.WriteUnaligned(p, v); break;
        }
    }

    /// <summary>One lane's ld/st: its address (recorded for the counters), space, vector alignment, checked pointer.</summary>
    private byte* LaneAccess(Warp w, Instr ins, Operand mem, int lane, int total, bool write, out Space space)
    {
        ulong addr = Address(w, mem, lane);
        space = Resolve(ins.Space, ref addr);
        _laneAddr[lane] = addr;
        if (total > 1 && (addr & (ulong)(total - 1)) != 0)
        {
            throw Fault(EmuError.MisalignedAddress, w, lane, _curPc, $"misaligned {total}-byte vector {(write ? "store" : "load")} at 0x{addr:x}");
        }
        return Locate(w, lane, space, addr, total, write);
    }

    private void Load(Warp w, Instr ins, uint active)
    {
        var mem = ins.Ops[1];
        var dst = ins.Ops[0];
        int size = ins.Type.Size();
        int vec = ins.Vec;
        int total = size * vec;
        var space = Space.Global;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            byte* p = LaneAccess(w, ins, mem, l, total, write: false, out space);
            for (int i = 0; i < vec; i++)
            {
                // Sign- or zero-extended to the full register (a 64-bit destination of ld.s8 sees the
                // sign too); readers of narrower registers mask to their type.
                ulong v = ins.Type.Extend(ReadBits(p + (i * size), size));
                Set(w, vec == 1 ? dst : dst.Elems[i], l, v);
            }
        }
        CountAccess(space, active, total, store: false);
    }

    private void Store(Warp w, Instr ins, uint active)
    {
        var mem = ins.Ops[0];
        var src = ins.Ops[1];
        int size = ins.Type.Size();
        int vec = ins.Vec;
        int total = size * vec;
        var space = Space.Global;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            byte* p = LaneAccess(w, ins, mem, l, total, write: true, out space);
            for (int i = 0; i < vec; i++)
            {
                WriteBits(p + (i * size), size, Get(w, vec == 1 ? src : src.Elems[i], l));
            }
        }
        CountAccess(space, active, total, store: true);
    }

    private void Atomic(Warp w, Instr ins, uint active)
    {
        bool red = ins.Op == OpCode.Red;
        var mem = ins.Ops[red ? 0 : 1];
        int first = red ? 1 : 2;
        string op = ins.Parts.FirstOrDefault(p => p is "add" or "min" or "max" or "inc" or "dec" or "and" or "or" or "xor" or "exch" or "cas")
            ?? throw Fault(EmuError.NotSupported, w, BitOperations.TrailingZeroCount(active), _curPc, $"the emulator does not implement '{ins.Opcode}'");
        var t = ins.Type;
        int size = t.Size();
        var space = Space.Global;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong addr = Address(w, mem, l);
            space = Resolve(ins.Space, ref addr);
            _laneAddr[l] = addr;
            byte* p = Locate(w, l, space, addr, size, write: true, atomic: true);
            ulong b = Get(w, ins.Ops[first], l);
            ulong c = ins.Ops.Length > first + 1 ? Get(w, ins.Ops[first + 1], l) : 0;
            if (t is PtxType.F16 or PtxType.F16x2 or PtxType.BF16 or PtxType.BF16x2)
            {
                throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator does not implement half-precision atomics ('{ins.Opcode}')");
            }
            bool global = space == Space.Global;
            ulong old = AtomicUpdate(p, size, global, old => AtomicOp(op, t, old, b, c, flushSubnormals: global));
            if (!red)
            {
                Set(w, ins.Ops[0], l, old);
            }
        }
        if (space == Space.Global)
        {
            Stats.GlobalAtomics++;
        }
        else if (space == Space.Shared)
        {
            Stats.SharedRequests++;
            Stats.SharedWavefronts++;
            Stats.SharedIdealWavefronts++;
        }
    }

    /// <summary>Read-modify-write; global memory is shared by CTAs running on other host threads, so it uses compare-and-swap.</summary>
    private static ulong AtomicUpdate(byte* p, int size, bool concurrent, Func<ulong, ulong> f)
    {
        if (!concurrent)
        {
            ulong old = ReadBits(p, size);
            WriteBits(p, size, f(old));
            return old;
        }
        if (size == 4)
        {
            int* ip = (int*)p;
            while (true)
            {
                int old = Volatile.Read(ref *ip);
                int next = (int)(uint)f((uint)old);
                if (Interlocked.CompareExchange(ref *ip, next, old) == old)
                {
                    return (uint)old;
                }
            }
        }
        if (size == 8)
        {
            long* lp = (long*)p;
            while (true)
            {
                long old = Volatile.Read(ref *lp);
                long next = (long)f((ulong)old);
                if (Interlocked.CompareExchange(ref *lp, next, old) == old)
                {
                    return (ulong)old;
                }
            }
        }
        throw new NotSupportedException($"{size}-byte atomics");
    }

    private static ulong AtomicOp(string op, PtxType t, ulong old, ulong b, ulong c, bool flushSubnormals)
    {
        int bits = t.Size() * 8;
        ulong mask = Mask(bits);
        switch (t)
        {
            case PtxType.F32:
            {
                float o = BitConverter.UInt32BitsToSingle((uint)old), v = BitConverter.UInt32BitsToSingle((uint)b);
                if (flushSubnormals && op == "add")
                {
                    // atom/red.global.add.f32 flushes subnormal inputs and result (PTX ISA, atom); the shared form does not.
                    return Fp32.Bits(Fp32.Ftz(Fp32.Ftz(o) + Fp32.Ftz(v)));
                }
                return op switch
                {
                    "add" => Fp32.Bits(o + v),
                    "min" => Fp32.Bits(Fp32.MinMax(o, v, false, false)),
                    "max" => Fp32.Bits(Fp32.MinMax(o, v, true, false)),
                    "exch" => b & mask,
                    _ => throw new NotSupportedException($"atom.{op}.f32"),
                };
            }
            case PtxType.F64:
                return op == "add"
                    ? BitConverter.DoubleToUInt64Bits(BitConverter.UInt64BitsToDouble(old) + BitConverter.UInt64BitsToDouble(b))
                    : op == "exch" ? b : throw new NotSupportedException($"atom.{op}.f64");
        }
        long so = (long)t.Extend(old), sb = (long)t.Extend(b);
        ulong uo = old & mask, ub = b & mask;
        return op switch
        {
            "add" => (uo + ub) & mask,
            "min" => (t.IsSigned() ? (ulong)Math.Min(so, sb) : Math.Min(uo, ub)) & mask,
            "max" => (t.IsSigned() ? (ulong)Math.Max(so, sb) : Math.Max(uo, ub)) & mask,
            "inc" => uo >= ub ? 0 : uo + 1,
            "dec" => uo == 0 || uo > ub ? ub : uo - 1,
            "and" => uo & ub,
            "or" => uo | ub,
            "xor" => uo ^ ub,
            "exch" => ub,
            "cas" => uo == ub ? c & mask : uo,
            _ => throw new NotSupportedException($"atom.{op}"),
        };
    }

    private void CpAsync(Warp w, Instr ins, uint active)
    {
        var dstMem = ins.Ops[0];
        var srcMem = ins.Ops[1];
        int cpSize = (int)Get(w, ins.Ops[2], 0);
        string dstSpace = ins.Space == "shared" || ins.Opcode.Contains(".shared", StringComparison.Ordinal) ? "shared" : "";
        uint m = active;
        int requests = 0;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong dst = Address(w, dstMem, l);
            var dspace = Resolve(dstSpace, ref dst);
            ulong src = Address(w, srcMem, l);
            int srcSize = ins.Ops.Length > 3 && ins.Ops[3].Kind is OperandKind.Reg or OperandKind.Imm ? (int)Get(w, ins.Ops[3], l) : cpSize;
            if (dspace != Space.Shared || dst + (ulong)cpSize > (ulong)_ctx.SharedBytes)
            {
                throw Fault(EmuError.IllegalAddress, w, l, _curPc, $"cp.async destination offset {(long)dst} (+{cpSize}) outside the CTA's {_ctx.SharedBytes} bytes of shared memory");
            }
            if ((dst & (ulong)(cpSize - 1)) != 0 || (src & (ulong)(cpSize - 1)) != 0)
            {
                throw Fault(EmuError.MisalignedAddress, w, l, _curPc, $"cp.async of {cpSize} bytes with misaligned addresses (shared {dst}, global 0x{src:x})");
            }
            var data = new byte[cpSize];
            if (srcSize > 0)
            {
                byte* p = Locate(w, l, Space.Global, src, Math.Min(srcSize, cpSize), write: false);
                new ReadOnlySpan<byte>(p, Math.Min(srcSize, cpSize)).CopyTo(data);
                requests++;
            }
            if (_ctx.Checks)
            {
                // The destination is written when the copy lands; a warp that still reads it now races with the copy.
                if (_shadow.BeginAsync((int)dst, cpSize) is { } finding)
                {
                    throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"the cp.async {finding}");
                }
            }
            _laneAddr[l] = src;
            w.OpenGroup.Add(new AsyncCopy((int)dst, data, l, ins.Line));
        }
        if (requests > 0)
        {
            CountGlobal(active, cpSize, store: false);
        }
        m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            _laneAddr[l] = (ulong)w.OpenGroup[w.OpenGroup.Count - 1 - BitOperations.PopCount(m)].SharedOffset;
        }
        CountShared(active, cpSize);
    }

    private static void CommitGroup(Warp w)
    {
        w.Groups.Add(new List<AsyncCopy>(w.OpenGroup));
        w.OpenGroup.Clear();
    }

    private void CommitWait(Warp w, Instr ins, int keep)
    {
        while (w.Groups.Count > keep)
        {
            foreach (var copy in w.Groups[0])
            {
                if (_ctx.Checks)
                {
                    _curLane = copy.Lane;   // the issuing thread writes the bytes (for the fence.proxy.async check)
                    var finding = _shadow.EndAsync(copy.SharedOffset, copy.Data.Length, w.Id);
                    if (finding is not null)
                    {
                        throw Fault(EmuError.LaunchFailed, w, copy.Lane, _curPc, $"cp.async issued at PTX line {copy.Line} lands: {finding}");
                    }
                }
                copy.Data.CopyTo(_shared.AsSpan(copy.SharedOffset));
            }
            w.Groups.RemoveAt(0);
        }
    }

    private void CountAccess(Space space, uint active, int bytes, bool store)
    {
        if (space == Space.Global)
        {
            CountGlobal(active, bytes, store);
        }
        else if (space == Space.Shared)
        {
            CountShared(active, bytes);
        }
    }

    /// <summary>Sectors (32 B) the active lanes' accesses touch, against the fewest that could hold the bytes they use.</summary>
    private void CountGlobal(uint active, int bytes, bool store)
    {
        Span<ulong> sectors = stackalloc ulong[128];
        Span<ulong> starts = stackalloc ulong[32];
        int ns = 0, na = 0;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong a = _laneAddr[l];
            if (starts[..na].IndexOf(a) < 0)
            {
                starts[na++] = a;
            }
            for (ulong s = a >> 5; s <= (a + (ulong)bytes - 1) >> 5; s++)
            {
                if (sectors[..ns].IndexOf(s) < 0 && ns < sectors.Length)
                {
                    sectors[ns++] = s;
                }
            }
        }
        long ideal = ((na * (long)bytes) + 31) / 32;
        if (store)
        {
            Stats.GlobalStoreRequests++;
            Stats.GlobalStoreSectors += ns;
            Stats.GlobalStoreIdealSectors += ideal;
            Stats.GlobalStoreBytes += BitOperations.PopCount(active) * (long)bytes;
        }
        else
        {
            Stats.GlobalLoadRequests++;
            Stats.GlobalLoadSectors += ns;
            Stats.GlobalLoadIdealSectors += ideal;
            Stats.GlobalLoadBytes += BitOperations.PopCount(active) * (long)bytes;
        }
    }

    /// <summary>
    /// Wavefronts of a shared access: 32 banks of 4 bytes; a request is split into phases of
    /// 128 bytes (32 lanes for 4-byte accesses, 16 for 8-byte, 8 for 16-byte), and each phase takes
    /// as many wavefronts as the most distinct words any one bank is asked for (one word read by
    /// many lanes is a broadcast).
    /// </summary>
    private void CountShared(uint active, int bytes)
    {
        int phaseLanes = bytes <= 4 ? 32 : bytes == 8 ? 16 : 8;
        Span<ulong> words = stackalloc ulong[128];
        Span<int> perBank = stackalloc int[32];
        long waves = 0, ideal = 0;
        for (int p = 0; p < 32; p += phaseLanes)
        {
            int nw = 0;
            for (int l = p; l < p + phaseLanes; l++)
            {
                if ((active & (1u << l)) == 0)
                {
                    continue;
                }
                ulong a = _laneAddr[l];
                for (ulong wd = a >> 2; wd <= (a + (ulong)Math.Max(bytes, 1) - 1) >> 2; wd++)
                {
                    if (words[..nw].IndexOf(wd) < 0 && nw < words.Length)
                    {
                        words[nw++] = wd;
                    }
                }
            }
            if (nw == 0)
            {
                continue;
            }
            perBank.Clear();
            int worst = 0;
            for (int i = 0; i < nw; i++)
            {
                worst = Math.Max(worst, ++perBank[(int)(words[i] & 31)]);
            }
            waves += worst;
            ideal += (nw + 31) / 32;
        }
        Stats.SharedRequests++;
        Stats.SharedWavefronts += waves;
        Stats.SharedIdealWavefronts += ideal;
    }
}
