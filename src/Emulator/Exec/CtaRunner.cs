using System.Numerics;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Runs CTAs of one launch on one host thread. Scheduling: each warp runs until none of its
/// lanes can go on (all exited or waiting at a barrier); then the next warp. When every warp is
/// stuck, a barrier whose arrivals are complete is released; if none can be, the CTA is
/// deadlocked and that is reported. Lanes whose mbarrier try_wait/test_wait finds the phase
/// incomplete park at it like a bar.sync (CtaRunner.Mbarrier.cs) and are woken when that
/// barrier's phase completes; every warp parked with no barrier able to progress is a deadlock. Inside a warp the lanes with the lowest PC run first, which
/// re-joins diverged lanes at the first instruction they share (the immediate post-dominator in
/// the structured code compilers emit).
/// </summary>
internal sealed partial class CtaRunner
{
    private readonly LaunchContext _ctx;
    private readonly PtxFunction _fn;
    private readonly Instr[] _code;
    private readonly Warp[] _warps;
    private readonly byte[] _shared;
    private readonly SharedShadow _shadow = new();
    private readonly Dictionary<int, (int Arrived, int Expected)> _barriers = new();
    private long _cta;
    private uint _ctaX, _ctaY, _ctaZ;
    private Warp? _curWarp;
    private int _curPc;

    public CtaRunner(LaunchContext ctx)
    {
        _ctx = ctx;
        _fn = ctx.Fn;
        _code = ctx.Fn.Code.ToArray();
        _warps = new Warp[ctx.WarpsPerCta];
        for (int w = 0; w < _warps.Length; w++)
        {
            _warps[w] = new Warp(w, _fn.RegisterCount, _fn.LocalBytes);
        }
        // Pinned: accesses go through raw pointers (see Locate).
        _shared = GC.AllocateArray<byte>(Math.Max(1, ctx.SharedBytes), pinned: true);
        Stats = new LaunchStats { Kernel = ctx.Function.Name, Geometry = "" };
        _shadow.Where = () => (_curLane, _curPc);
        _shadow.Observed = HasObserved;
        _shadow.Async.PcText = pc => pc >= 0 && pc < _code.Length ? $"PTX line {_code[pc].Line} `{_code[pc].Text}`" : $"PC {pc}";
        _asyncProxyReads = AsyncProxyReads(_code);
    }

    private int _curLane;

    /// <summary>Reports a read of never-written shared memory once the interval it happened in is over.</summary>
    private void CheckUninitialised()
    {
        if (_shadow.Uninitialised is { } u && _ctx.Checks)
        {
            throw Fault(EmuError.LaunchFailed, _warps[u.Warp], u.At.Lane, u.At.Pc,
                $"reads shared byte {u.Byte}, which no thread of this CTA had written (and none wrote before the next barrier)");
        }
    }

    public LaunchStats Stats { get; }

    /// <summary>Where the runner is, for an internal error's message.</summary>
    public string Where() => _curWarp is null ? $"CTA {_cta}" : Describe(_curWarp, BitOperations.TrailingZeroCount(_curWarp.Live | 1), _curPc);

    public void Run(long cta)
    {
        var g = _ctx.Config.Grid;
        var b = _ctx.Config.Block;
        _cta = cta;
        _ctaX = (uint)(cta % g.X);
        _ctaY = (uint)(cta / g.X % g.Y);
        _ctaZ = (uint)(cta / ((long)g.X * g.Y));
        Array.Clear(_shared);
        _shadow.BeginCta(cta, _shared.Length);
        _shadow.Async.BeginCta(_shared.Length, _warps.Length * 32, _ctx.Checks && _asyncProxyReads);
        _barriers.Clear();
        _mbarriers.Clear();
        _observed.Clear();
        _observedByAll.Clear();
        _falseReturnedAt = -1;
        for (int w = 0; w < _warps.Length; w++)
        {
            _warps[w].Reset(w * 32, _ctx.Threads, b.X, b.Y);
        }
        Stats.Ctas++;
        Stats.Threads += _ctx.Threads;
        while (true)
        {
            bool anyLive = false;
            foreach (var warp in _warps)
            {
                if ((warp.Live & ~warp.Waiting) != 0)
                {
                    RunWarp(warp);
                }
                anyLive |= warp.Live != 0;
                if (_ctx.Failed)
                {
                    return;
                }
            }
            if (!anyLive)
            {
                CheckUninitialised();
                break;
            }
            CheckUninitialised();
            // A warp parked at an mbarrier wait may have been woken by a later warp's arrival.
            if (!ReleaseBarriers() && !_warps.Any(w => (w.Live & ~w.Waiting & ~w.SyncWaiting) != 0) && !ReturnFalseFromParkedWaits())
            {
                throw Deadlock();
            }
        }
        _curWarp = null;
        // Every cp.async must land by the end of the CTA (a kernel may exit with copies in flight; the data is then lost).
    }

    private void RunWarp(Warp w)
    {
        _curWarp = w;
        var code = _code;
        while (true)
        {
            uint runnable = w.Live & ~w.Waiting & ~w.SyncWaiting;
            if (runnable == 0)
            {
                if (w.SyncWaiting != 0 && (w.Live & ~w.Waiting & ~w.SyncWaiting) == 0 && (w.Waiting == 0 || !_ctx.Checks))
                {
                    MissingSyncMembers(w);
                }
                return;
            }
            // The lowest PC among runnable lanes, and the lanes at it.
            int pc = int.MaxValue;
            uint at = 0;
            uint m = runnable;
            while (m != 0)
            {
                int l = BitOperations.TrailingZeroCount(m);
                m &= m - 1;
                int p = w.Pc[l];
                if (p < pc)
                {
                    pc = p;
                    at = 1u << l;
                }
                else if (p == pc)
                {
                    at |= 1u << l;
                }
            }
            if (pc >= code.Length)
            {
                // Fell off the end: as ret.
                w.Live &= ~at;
                continue;
            }
            _curPc = pc;
            var ins = code[pc];
            if (ins.WarpSync && !JoinWarpSync(w, ins, pc, ref at))
            {
                continue;
            }
            uint active = at;
            if (ins.Guard >= 0)
            {
                active = 0;
                int baseIdx = ins.Guard * 32;
                m = at;
                while (m != 0)
                {
                    int l = BitOperations.TrailingZeroCount(m);
                    m &= m - 1;
                    bool p = (w.R[baseIdx + l] & 1) != 0;
                    if (p != ins.GuardNegated)
                    {
                        active |= 1u << l;
                    }
                }
            }
            Stats.Instructions[(int)ins.Class]++;
            // Default: every lane at this PC moves on; control flow overrides for active lanes.
            m = at;
            while (m != 0)
            {
                int l = BitOperations.TrailingZeroCount(m);
                m &= m - 1;
                w.Pc[l] = pc + 1;
            }
            if (active != 0)
            {
                Execute(w, ins, active, at);
            }
            if (_ctx.Failed)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Independent thread scheduling for the warp-synchronous instructions (shfl/vote/redux .sync,
    /// mma/ldmatrix .aligned): lanes that reach one wait there until every lane of its member mask
    /// has arrived at the same instruction, as a GPU since Volta does; then they run it together.
    /// </summary>
    private bool JoinWarpSync(Warp w, Instr ins, int pc, ref uint at)
    {
        uint m = w.SyncWaiting;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            if (w.Pc[l] == pc)
            {
                at |= 1u << l;
            }
        }
        uint required = RequiredMembers(w, ins, at) & w.Live;
        if ((required & ~at) != 0)
        {
            w.SyncWaiting |= at;
            return false;
        }
        w.SyncWaiting &= ~at;
        if (ins.Op is OpCode.BarWarp or OpCode.Shfl or OpCode.Vote or OpCode.Redux or OpCode.Elect)
        {
            ShareWarpObservations(w, at);
        }
        return true;
    }

    private uint RequiredMembers(Warp w, Instr ins, uint at)
    {
        int lane = BitOperations.TrailingZeroCount(at);
        return ins.Op switch
        {
            OpCode.Shfl => (uint)Get(w, ins.Ops[4], lane),
            OpCode.Vote or OpCode.Redux => (uint)Get(w, ins.Ops[2], lane),
            OpCode.BarWarp => (uint)Get(w, ins.Ops[0], lane),
            OpCode.Elect => (uint)Get(w, ins.Ops[^1], lane),
            _ => w.Exists, // .aligned: the whole warp
        };
    }

    /// <summary>Lanes wait at a warp-synchronous instruction for members that can never arrive (they exited or wait at a CTA barrier).</summary>
    private void MissingSyncMembers(Warp w)
    {
        int lane = BitOperations.TrailingZeroCount(w.SyncWaiting);
        int pc = w.Pc[lane];
        var ins = _code[pc];
        uint required = RequiredMembers(w, ins, w.SyncWaiting);
        if (_ctx.Checks)
        {
            throw Fault(EmuError.LaunchFailed, w, lane, pc,
                $"{ins.Base} waits for member lanes 0x{required & ~w.SyncWaiting:x8} (mask 0x{required:x8}) that exited or wait elsewhere: the warp-synchronous instruction can never complete");
        }
        // Without checks: run it with the lanes that are there (what a pre-Volta GPU would do).
        uint at = w.SyncWaiting & ~0u;
        w.SyncWaiting = 0;
        foreach (var l in Lanes(at))
        {
            w.Pc[l] = pc + 1;
        }
        Execute(w, ins, at, at);
    }

    private static IEnumerable<int> Lanes(uint mask)
    {
        while (mask != 0)
        {
            int l = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            yield return l;
        }
    }

    private bool ReleaseBarriers()
    {
        int live = 0;
        foreach (var w in _warps)
        {
            live += BitOperations.PopCount(w.Live);
        }
        bool released = false;
        foreach (var id in _barriers.Keys.ToArray())
        {
            var (arrived, expected) = _barriers[id];
            int need = expected > 0 ? expected : live;
            if (arrived < need)
            {
                continue;
            }
            int firstPc = -1;
            foreach (var w in _warps)
            {
                uint m = w.Waiting;
                while (m != 0)
                {
                    int l = BitOperations.TrailingZeroCount(m);
                    m &= m - 1;
                    if (w.WaitBarrier[l] != id)
                    {
                        continue;
                    }
                    if (firstPc < 0)
                    {
                        firstPc = w.WaitPc[l];
                    }
                    else if (w.WaitPc[l] != firstPc && _ctx.Checks && expected == 0)
                    {
                        throw Fault(EmuError.LaunchFailed, w, l, w.WaitPc[l],
                            $"divergent barrier: threads wait on barrier {id} at PTX line {_code[firstPc].Line} and at line {_code[w.WaitPc[l]].Line}");
                    }
                    w.Waiting &= ~(1u << l);
                }
            }
            _barriers.Remove(id);
            _shadow.Barrier();
            ShareObservations();
            released = true;
        }
        return released;
    }

    private EmulatorException Deadlock()
    {
        if (MbarrierDeadlock() is { } mbarrier)
        {
            return mbarrier;
        }
        var waiting = new List<string>();
        foreach (var w in _warps)
        {
            uint m = w.Waiting;
            if (m != 0)
            {
                int l = BitOperations.TrailingZeroCount(m);
                waiting.Add($"warp {w.Id} ({BitOperations.PopCount(m)} lanes) at line {_code[w.WaitPc[l]].Line} `{_code[w.WaitPc[l]].Text}`");
            }
        }
        var (id, (arrived, expected)) = _barriers.Count > 0 ? _barriers.First() : default;
        var first = _warps.First(w => w.Waiting != 0);
        int lane = BitOperations.TrailingZeroCount(first.Waiting);
        return Fault(EmuError.LaunchFailed, first, lane, first.WaitPc[lane],
            $"barrier {id} is never completed: {arrived} threads arrived, {(expected > 0 ? expected : "every live thread")} expected; not every live thread of the CTA reaches it. Waiting: {string.Join("; ", waiting)}");
    }

    private readonly HashSet<int> _warnedLines = new();

    /// <summary>Records a finding that does not stop the launch, once per instruction.</summary>
    private void Warn(Warp w, int lane, string what)
    {
        if (_warnedLines.Add(_curPc) && Stats.Warnings.Count < 16)
        {
            Stats.Warnings.Add($"{Describe(w, lane, _curPc)}: {what}");
        }
    }

    /// <summary>A fault at (warp, lane, pc) with the full location in its message.</summary>
    private EmulatorException Fault(EmuError error, Warp w, int lane, int pc, string what)
    {
        var e = new EmulatorException(error, $"{Describe(w, lane, pc)}: {what}");
        _ctx.Fail(e);
        return e;
    }

    private string Describe(Warp w, int lane, int pc)
    {
        var ins = pc >= 0 && pc < _code.Length ? _code[pc] : null;
        string where = ins is null ? "" : $", PTX line {ins.Line}{(ins.Source is null ? "" : $" ({ins.Source})")} `{ins.Text}`";
        return $"kernel {_fn.Name}, CTA ({_ctaX},{_ctaY},{_ctaZ}), thread ({w.TidX[lane]},{w.TidY[lane]},{w.TidZ[lane]}) (warp {w.Id} lane {lane}){where}";
    }
}
