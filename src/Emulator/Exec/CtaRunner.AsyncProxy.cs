using System.Numerics;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

/// <summary>
/// The execution side of the async-proxy checks (see AsyncProxyTracker): the bulk groups of each
/// thread's bulk stores, and fence.proxy.async.
/// </summary>
internal sealed unsafe partial class CtaRunner
{
    /// <summary>Each thread's committed bulk groups so far (the next commit closes group number _bulkGroups[t]).</summary>
    private long[] _bulkGroups = [];
    private long _bulkCta = -1;
    /// <summary>The function contains a wgmma or a bulk store, so generic shared writes are tracked for fence.proxy.async.</summary>
    private readonly bool _asyncProxyReads;

    private static bool AsyncProxyReads(Instr[] code) =>
        code.Any(i => i.Op == OpCode.Wgmma || (i.Op is OpCode.CpBulk or OpCode.CpBulkTensor && IsBulkStore(i)));

    /// <summary>A bulk copy from shared to global memory (the destination state space comes first).</summary>
    private static bool IsBulkStore(Instr ins)
    {
        int global = Array.IndexOf(ins.Parts, "global");
        int shared = Array.FindIndex(ins.Parts, p => p.StartsWith("shared", StringComparison.Ordinal));
        return global >= 0 && shared > global;
    }

    private long[] BulkGroupCounts()
    {
        if (_bulkCta != _cta || _bulkGroups.Length != _warps.Length * 32)
        {
            _bulkGroups = new long[_warps.Length * 32];
            _bulkCta = _cta;
        }
        return _bulkGroups;
    }

    /// <summary>A bulk store of lane <paramref name="l"/> reads [smem, smem + size) until its bulk group is waited for.</summary>
    private void BulkStoreSource(Warp w, Instr ins, int l, int smem, int size)
    {
        if (!_ctx.Checks)
        {
            return;
        }
        if (!ins.Has("bulk_group"))
        {
            throw Fault(EmuError.NotSupported, w, l, _curPc, $"the emulator implements bulk stores with .bulk_group completion only ('{ins.Opcode}')");
        }
        int t = (w.Id * 32) + l;
        _shadow.Async.AddBulkStore(t, BulkGroupCounts()[t], _curPc, smem, smem + size);
    }

    /// <summary>cp.async.bulk.commit_group closes each lane's bulk group; cp.async.bulk.wait_group{.read} N retires all but its N most recent.</summary>
    private void BulkGroups(Warp w, Instr ins, uint active)
    {
        if (!_ctx.Checks)
        {
            return;
        }
        var groups = BulkGroupCounts();
        long n = 0;
        if (ins.Op == OpCode.CpBulkWait)
        {
            n = ins.Ops.Length == 1 && ins.Ops[0].Kind == OperandKind.Imm ? (long)ins.Ops[0].Imm : -1;
            if (n < 0)
            {
                throw Fault(EmuError.IllegalInstruction, w, BitOperations.TrailingZeroCount(active), _curPc, "cp.async.bulk.wait_group takes one integer constant N");
            }
        }
        foreach (int l in Lanes(active))
        {
            int t = (w.Id * 32) + l;
            if (ins.Op == OpCode.CpBulkCommit)
            {
                groups[t]++;
            }
            else if (_shadow.Async.Busy)
            {
                _shadow.Async.Retire(bulk: true, t, groups[t] - n);
            }
        }
    }

    /// <summary>fence.proxy.async{.shared::cta}: the lanes' earlier generic writes to shared memory become visible to the async proxy.</summary>
    private void ProxyFence(Warp w, Instr ins, uint active)
    {
        // A fence for the global state space alone does not order shared memory.
        if (!_shadow.Async.TrackFences || (ins.Has("global") && !ins.Parts.Any(p => p.StartsWith("shared", StringComparison.Ordinal))))
        {
            return;
        }
        foreach (int l in Lanes(active))
        {
            _shadow.Async.Fence((w.Id * 32) + l);
        }
    }
}
