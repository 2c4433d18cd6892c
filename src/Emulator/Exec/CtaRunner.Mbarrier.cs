using System.Numerics;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Hopper's mbarrier (PTX ISA, "Parallel synchronization and communication: mbarrier"): a barrier
/// object in shared memory with a phase, pending arrivals and a transaction count (tx-count, in
/// bytes, which asynchronous copies complete). A phase completes when its pending arrivals reach
/// 0 and its tx-count is 0; then the phase flips and the counts reset. The state lives here, keyed
/// by the barrier's shared offset; its 8 bytes in shared memory are marked so that a plain ld/st
/// of a live barrier is reported.
/// <para>
/// Scheduling: a try_wait / test_wait that finds its phase incomplete parks the lanes at the
/// instruction (as bar.sync does) instead of returning false, so the warp that would complete the
/// phase runs; the lanes re-execute it when the barrier's phase changes. Returning false to a
/// spin loop would only spin it forever on one host thread. A parked lane sees the same result as
/// a try_wait that suspended until the phase completed, which the ISA allows. When every warp is
/// stuck and no barrier can progress, the parked waits return false once (a test_wait or a
/// try_wait past its time limit may); if the warps come back to wait with no mbarrier state
/// changed in between, the CTA is deadlocked, and that is reported, naming each barrier.
/// </para>
/// <para>
/// The shared-memory race checker (SharedShadow) has one interval clock per CTA. A phase completion
/// is a release by every arrival and complete_tx of the phase, and a successful wait acquires it,
/// so a phase completion starts a new interval, as a bar.sync release does. That cannot raise a
/// false race in a producer/consumer pipeline ordered by mbarriers (TMA writes are recorded as the
/// issuing warp's writes before its complete_tx ends the interval); it can miss a race between
/// threads that do not take part in the barrier, which is the side to err on.
/// </para>
/// </summary>
internal sealed partial class CtaRunner
{
    /// <summary>The tx-count's range: [-(2^20 - 1), 2^20 - 1] (PTX ISA, mbarrier "tx-count").</summary>
    private const long TxLimit = (1L << 20) - 1;

    private sealed class MbarrierState
    {
        public int Expected;
        public int Pending;
        public long Tx;
        /// <summary>Phases completed so far; the current phase's parity is its low bit.</summary>
        public long Phase;
        /// <summary>
        /// The mbarrier phases the threads that arrived on (or completed bytes of) the current phase
        /// had observed, per barrier: its completion releases them to whoever waits on it.
        /// </summary>
        public Dictionary<int, long> Carried { get; } = new();
        /// <summary>What the completed phases released (the union of their <see cref="Carried"/>): a successful wait acquires it.</summary>
        public Dictionary<int, long> Released { get; } = new();
    }

    private readonly Dictionary<int, MbarrierState> _mbarriers = new();
    /// <summary>Per parked lane (warp * 32 + lane): the phase parity or the state token (the phase it arrived in) it waits to see completed.</summary>
    private readonly Dictionary<int, (bool State, long Value)> _parkedParity = new();
    /// <summary>Barriers whose phase completed during the instruction being executed (arrivals beyond the expected count).</summary>
    private readonly HashSet<int> _completedNow = new();
    /// <summary>Counts mbarrier state changes; parked waits return false once per value (see the class comment).</summary>
    private long _mbarrierChanges;
    private long _falseReturnedAt = -1;
    /// <summary>Per mbarrier: the phases each thread of the CTA has observed complete (a successful wait), for the "read before its mbarrier wait" check.</summary>
    private readonly Dictionary<int, long[]> _observed = new();
    /// <summary>Per mbarrier: phases every thread has observed through a bar.sync after someone's wait.</summary>
    private readonly Dictionary<int, long> _observedByAll = new();

    private long[] Observations(int addr)
    {
        if (!_observed.TryGetValue(addr, out var o))
        {
            o = new long[_warps.Length * 32];
            _observed[addr] = o;
        }
        return o;
    }

    /// <summary>Whether the current thread has observed phase <paramref name="phase"/> of the mbarrier at <paramref name="addr"/> complete.</summary>
    private bool HasObserved(int addr, long phase) =>
        _curWarp is not { } w
        || Math.Max(Observations(addr)[(w.Id * 32) + _curLane], _observedByAll.GetValueOrDefault(addr)) > phase;

    /// <summary>A bar.sync released: what any thread observed before it, every thread has now (it waited for that thread).</summary>
    private void ShareObservations()
    {
        foreach (var (addr, o) in _observed)
        {
            _observedByAll[addr] = Math.Max(_observedByAll.GetValueOrDefault(addr), o.Max());
        }
    }

    /// <summary>
    /// A warp-synchronous instruction (bar.warp.sync, or a shfl/vote/redux/elect .sync) completed
    /// for the member lanes: each has waited for the others, so each has now observed what any of
    /// them had (lane 0 waits on the mbarrier, __syncwarp, every lane reads the data).
    /// </summary>
    private void ShareWarpObservations(Warp w, uint members)
    {
        foreach (var o in _observed.Values)
        {
            var lanes = o.AsSpan(w.Id * 32, 32);
            long max = 0;
            for (uint m = members; m != 0; m &= m - 1)
            {
                max = Math.Max(max, lanes[BitOperations.TrailingZeroCount(m)]);
            }
            for (uint m = members; m != 0; m &= m - 1)
            {
                lanes[BitOperations.TrailingZeroCount(m)] = max;
            }
        }
    }

    /// <summary>
    /// An arrival or complete_tx on <paramref name="m"/> by the thread releases what that thread
    /// observed: it is folded into the current phase's vector clock, which the phase's completion
    /// passes to the threads that wait on it (a chain of mbarriers orders as release/acquire does).
    /// </summary>
    private void Carry(Warp w, int lane, MbarrierState m)
    {
        int t = (w.Id * 32) + lane;
        foreach (var (addr, o) in _observed)
        {
            if (o[t] > m.Carried.GetValueOrDefault(addr))
            {
                m.Carried[addr] = o[t];
            }
        }
    }

    /// <summary>A successful wait on <paramref name="m"/>: the waiting thread acquires what its completed phases released.</summary>
    private void Acquire(Warp w, int lane, MbarrierState m)
    {
        int t = (w.Id * 32) + lane;
        foreach (var (addr, phase) in m.Released)
        {
            var o = Observations(addr);
            o[t] = Math.Max(o[t], phase);
        }
    }

    /// <summary>A shared-memory operand of an mbarrier or bulk copy: a shared::cta / shared::cluster offset (this CTA's, clusters are of one CTA) or a generic address in the shared window.</summary>
    private int SharedOperand(Warp w, Instr ins, Operand mem, int lane, int size, int align, string what)
    {
        ulong a = Address(w, mem, lane);
        bool generic = !ins.Parts.Any(p => p.StartsWith("shared", StringComparison.Ordinal));
        if (AddressSpace.IsShared(a))
        {
            a -= AddressSpace.SharedWindow;
        }
        else if (generic || a >= AddressSpace.SharedWindow)
        {
            throw Fault(EmuError.IllegalAddress, w, lane, _curPc, $"{what} at 0x{a:x} is not in shared memory");
        }
        if (a + (ulong)size > (ulong)_ctx.SharedBytes)
        {
            throw Fault(EmuError.IllegalAddress, w, lane, _curPc,
                $"{what} of {size} bytes at shared offset {(long)a} is outside the CTA's {_ctx.SharedBytes} bytes of shared memory");
        }
        if (a % (ulong)align != 0)
        {
            throw Fault(EmuError.MisalignedAddress, w, lane, _curPc, $"{what} at shared offset {a} is not {align}-byte aligned");
        }
        return (int)a;
    }

    private string Describe(int addr, MbarrierState m) =>
        $"mbarrier at shared offset {addr} (phase {m.Phase}, parity {m.Phase & 1}, pending arrivals {m.Pending} of {m.Expected}, tx-count {m.Tx})";

    private MbarrierState Live(Warp w, int lane, int addr, string op)
    {
        if (_mbarriers.TryGetValue(addr, out var m))
        {
            return m;
        }
        throw Fault(EmuError.LaunchFailed, w, lane, _curPc,
            $"mbarrier.{op} on shared offset {addr}, which holds no initialised mbarrier (mbarrier.init missing, or the barrier was invalidated)");
    }

    private void Mbarrier(Warp w, Instr ins, uint active)
    {
        string op = ins.Parts[0];
        _completedNow.Clear();
        if (ins.Op != OpCode.MbarWait)
        {
            _mbarrierChanges++;
        }
        uint mask = active;
        while (mask != 0)
        {
            int l = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            switch (ins.Op)
            {
                case OpCode.MbarInit:
                {
                    int addr = SharedOperand(w, ins, ins.Ops[0], l, 8, 8, "mbarrier.init");
                    long count = (long)Get(w, ins.Ops[1], l);
                    if (count is < 1 or > TxLimit)
                    {
                        throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"mbarrier.init with count {count}: the expected arrival count must be 1 to 2^20 - 1");
                    }
                    _mbarriers[addr] = new MbarrierState { Expected = (int)count, Pending = (int)count };
                    _shadow.MarkMbarrier(addr, live: true);
                    break;
                }
                case OpCode.MbarInval:
                {
                    int addr = SharedOperand(w, ins, ins.Ops[0], l, 8, 8, "mbarrier.inval");
                    Live(w, l, addr, op);
                    _mbarriers.Remove(addr);
                    _shadow.MarkMbarrier(addr, live: false);
                    break;
                }
                case OpCode.MbarArrive:
                {
                    // arrive{.expect_tx} state|_, [addr]{, count|txCount}; arrive.expect_tx state, [addr], txCount.
                    int addr = SharedOperand(w, ins, ins.Ops[1], l, 8, 8, $"mbarrier.{op}");
                    var m = Live(w, l, addr, op);
                    bool tx = ins.Has("expect_tx");
                    long count = !tx && ins.Ops.Length > 2 ? (long)Get(w, ins.Ops[2], l) : 1;
                    if (_completedNow.Contains(addr))
                    {
                        throw Fault(EmuError.LaunchFailed, w, l, _curPc,
                            $"arrivals beyond the expected count: lanes 0x{active:x8} of this warp arrive together on the {Describe(addr, m)}, whose phase completed at an earlier lane's arrival; the extra arrivals would count towards the next phase");
                    }
                    Set(w, ins.Ops[0], l, (ulong)m.Phase);
                    if (tx)
                    {
                        AddTx(w, l, addr, m, (long)Get(w, ins.Ops[2], l), "mbarrier.arrive.expect_tx");
                    }
                    if (count < 1 || count > m.Pending)
                    {
                        throw Fault(EmuError.LaunchFailed, w, l, _curPc,
                            $"arrivals beyond the expected count: {count} arrival(s) on the {Describe(addr, m)}");
                    }
                    m.Pending -= (int)count;
                    if (op == "arrive_drop")
                    {
                        m.Expected -= (int)count;
                    }
                    Carry(w, l, m);
                    TryComplete(w, l, addr, m);
                    break;
                }
                case OpCode.MbarExpectTx:
                {
                    int addr = SharedOperand(w, ins, ins.Ops[0], l, 8, 8, "mbarrier.expect_tx");
                    AddTx(w, l, addr, Live(w, l, addr, op), (long)Get(w, ins.Ops[1], l), "mbarrier.expect_tx");
                    break;
                }
                case OpCode.MbarCompleteTx:
                {
                    int addr = SharedOperand(w, ins, ins.Ops[0], l, 8, 8, "mbarrier.complete_tx");
                    CompleteTx(w, l, addr, (long)Get(w, ins.Ops[1], l), "mbarrier.complete_tx");
                    break;
                }
                case OpCode.MbarWait:
                    Wait(w, ins, l);
                    break;
            }
        }
    }

    private void AddTx(Warp w, int lane, int addr, MbarrierState m, long bytes, string what)
    {
        m.Tx += bytes;
        if (m.Tx > TxLimit)
        {
            throw Fault(EmuError.LaunchFailed, w, lane, _curPc, $"{what} of {bytes} bytes takes the tx-count past its limit of 2^20 - 1: {Describe(addr, m)}");
        }
    }

    /// <summary>Bytes an asynchronous copy (or mbarrier.complete_tx) completed on the barrier at <paramref name="addr"/>.</summary>
    private void CompleteTx(Warp w, int lane, int addr, long bytes, string what)
    {
        var m = Live(w, lane, addr, "complete_tx");
        _mbarrierChanges++;
        Carry(w, lane, m);
        m.Tx -= bytes;
        // The ISA lets the tx-count go negative for a while (a copy may land before the
        // expect_tx that accounts for it); once no arrival is pending nothing can make up
        // the difference: more bytes were completed than expected in this phase.
        if (m.Tx < 0 && (m.Pending == 0 || m.Tx < -TxLimit))
        {
            throw Fault(EmuError.LaunchFailed, w, lane, _curPc,
                $"{what} of {bytes} bytes makes the tx-count negative with no arrival pending: more bytes completed than expected (expect_tx too small): {Describe(addr, m)}");
        }
        TryComplete(w, lane, addr, m);
    }

    private void TryComplete(Warp w, int lane, int addr, MbarrierState m)
    {
        if (m.Pending > 0)
        {
            return;
        }
        if (m.Tx < 0)
        {
            throw Fault(EmuError.LaunchFailed, w, lane, _curPc,
                $"the last arrival finds the tx-count negative: more bytes completed than expected (expect_tx too small): {Describe(addr, m)}");
        }
        if (m.Tx > 0)
        {
            return;
        }
        m.Phase++;
        m.Pending = m.Expected;
        foreach (var (a, p) in m.Carried)
        {
            m.Released[a] = Math.Max(m.Released.GetValueOrDefault(a), p);
        }
        m.Carried.Clear();
        _completedNow.Add(addr);
        _shadow.Barrier();
        // Wake the lanes parked on this barrier; they re-execute their wait.
        foreach (var other in _warps)
        {
            uint parked = other.Waiting;
            while (parked != 0)
            {
                int l = BitOperations.TrailingZeroCount(parked);
                parked &= parked - 1;
                if (other.WaitBarrier[l] == ParkId(addr))
                {
                    other.Waiting &= ~(1u << l);
                    _parkedParity.Remove((other.Id * 32) + l);
                }
            }
        }
    }

    /// <summary>bar.sync ids are 0..15; a lane parked at an mbarrier wait carries a negative id naming the barrier's offset.</summary>
    private static int ParkId(int addr) => -1 - addr;

    private void Wait(Warp w, Instr ins, int l)
    {
        // {try,test}_wait{.parity} p, [addr], state|parity {, suspendTimeHint}
        string op = ins.Parts[0];
        int addr = SharedOperand(w, ins, ins.Ops[1], l, 8, 8, $"mbarrier.{op}");
        var m = Live(w, l, addr, op);
        ulong arg = Get(w, ins.Ops[2], l);
        bool parity = ins.Has("parity");
        // .parity: the phase with that parity has completed when the current (incomplete) phase's
        // parity differs. A state token names the phase it arrived in: complete once passed.
        bool done = parity ? (ulong)(m.Phase & 1) != (arg & 1) : (long)arg < m.Phase;
        if (!parity && (long)arg > m.Phase)
        {
            throw Fault(EmuError.LaunchFailed, w, l, _curPc, $"mbarrier.{op} with state {arg}, which no arrive on the {Describe(addr, m)} returned");
        }
        if (done)
        {
            var o = Observations(addr);
            o[(w.Id * 32) + l] = Math.Max(o[(w.Id * 32) + l], m.Phase);
            Acquire(w, l, m);
            Set(w, ins.Ops[0], l, 1);
            return;
        }
        w.Pc[l] = _curPc;
        w.Waiting |= 1u << l;
        w.WaitBarrier[l] = ParkId(addr);
        w.WaitPc[l] = _curPc;
        _parkedParity[(w.Id * 32) + l] = parity ? (false, (long)(arg & 1)) : (true, (long)arg);
    }

    /// <summary>
    /// Every warp is stuck: the lanes parked at mbarrier waits go on with a false result, once
    /// per mbarrier state; false when there are none or they already had their false result.
    /// </summary>
    private bool ReturnFalseFromParkedWaits()
    {
        if (_falseReturnedAt == _mbarrierChanges)
        {
            return false;
        }
        bool any = false;
        foreach (var w in _warps)
        {
            uint parked = w.Waiting;
            while (parked != 0)
            {
                int l = BitOperations.TrailingZeroCount(parked);
                parked &= parked - 1;
                if (w.WaitBarrier[l] >= 0)
                {
                    continue;
                }
                w.Waiting &= ~(1u << l);
                _parkedParity.Remove((w.Id * 32) + l);
                Set(w, _code[w.WaitPc[l]].Ops[0], l, 0);
                w.Pc[l] = w.WaitPc[l] + 1;
                any = true;
            }
        }
        _falseReturnedAt = _mbarrierChanges;
        return any;
    }

    /// <summary>What a parked lane waits for, in a deadlock report: a parity, or the state token an arrive returned.</summary>
    private string ParkedWhat(int thread) =>
        _parkedParity.TryGetValue(thread, out var p) ? (p.State ? $"the phase of state {p.Value}" : $"parity {p.Value}") : "parity ?";

    /// <summary>The deadlock report when lanes wait on mbarriers nobody can complete; null when none does.</summary>
    private EmulatorException? MbarrierDeadlock()
    {
        var lines = new List<string>();
        (Warp W, int Lane)? first = null;
        foreach (var w in _warps)
        {
            uint parked = w.Waiting;
            var seen = new HashSet<int>();
            while (parked != 0)
            {
                int l = BitOperations.TrailingZeroCount(parked);
                parked &= parked - 1;
                int id = w.WaitBarrier[l];
                if (id >= 0 || !seen.Add(id))
                {
                    continue;
                }
                int addr = -1 - id;
                first ??= (w, l);
                int lanes = 0;
                foreach (int x in Lanes(w.Waiting))
                {
                    lanes += w.WaitBarrier[x] == id ? 1 : 0;
                }
                string state = _mbarriers.TryGetValue(addr, out var m) ? Describe(addr, m) : $"mbarrier at shared offset {addr} (invalidated)";
                lines.Add($"warp {w.Id} ({lanes} lanes) at line {_code[w.WaitPc[l]].Line} waits for {ParkedWhat((w.Id * 32) + l)} of the {state}");
            }
        }
        if (first is not { } f)
        {
            return null;
        }
        foreach (var w in _warps)
        {
            if (w.Waiting != 0 && w.WaitBarrier[BitOperations.TrailingZeroCount(w.Waiting)] >= 0)
            {
                int l = BitOperations.TrailingZeroCount(w.Waiting);
                lines.Add($"warp {w.Id} waits at bar.sync {w.WaitBarrier[l]} at line {_code[w.WaitPc[l]].Line}");
            }
        }
        return Fault(EmuError.LaunchFailed, f.W, f.Lane, f.W.WaitPc[f.Lane],
            $"deadlock: every live warp waits and no barrier can complete (a phase nobody completes: missing arrive, expect_tx larger than the bytes copied, or the wrong parity). Waiting: {string.Join("; ", lines)}");
    }
}
