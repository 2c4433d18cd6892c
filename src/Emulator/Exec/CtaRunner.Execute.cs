using System.Numerics;
using Zoetrope.Emulator.Ptx;

namespace Zoetrope.Emulator.Exec;

internal sealed partial class CtaRunner
{
    private void Execute(Warp w, Instr ins, uint active, uint at)
    {
        if (_wgInFlight != 0)
        {
            CheckWgmmaRegisters(w, ins, active);
        }
        switch (ins.Op)
        {
            case OpCode.Mov:
                Mov(w, ins, active);
                break;
            case OpCode.Add or OpCode.Sub or OpCode.Mul or OpCode.Mad or OpCode.Fma or OpCode.Div or OpCode.Rem
                or OpCode.Min or OpCode.Max or OpCode.Abs or OpCode.Neg or OpCode.Copysign:
                Arith(w, ins, active);
                break;
            case OpCode.And or OpCode.Or or OpCode.Xor or OpCode.Not or OpCode.Cnot or OpCode.Shl or OpCode.Shr
                or OpCode.Popc or OpCode.Clz or OpCode.Brev or OpCode.Bfe or OpCode.Bfi or OpCode.Prmt:
                Logic(w, ins, active);
                break;
            case OpCode.Setp or OpCode.Set or OpCode.Selp or OpCode.Testp:
                Compare(w, ins, active);
                break;
            case OpCode.Cvt:
                Convert(w, ins, active);
                break;
            case OpCode.Cvta:
                Cvta(w, ins, active);
                break;
            case OpCode.Ex2 or OpCode.Lg2 or OpCode.Rcp or OpCode.Rsqrt or OpCode.Sqrt or OpCode.Tanh or OpCode.Sin or OpCode.Cos:
                SpecialFunction(w, ins, active);
                break;
            case OpCode.Ld or OpCode.Ldu:
                Load(w, ins, active);
                break;
            case OpCode.St:
                Store(w, ins, active);
                break;
            case OpCode.Atom or OpCode.Red:
                Atomic(w, ins, active);
                break;
            case OpCode.CpAsync:
                CpAsync(w, ins, active);
                break;
            case OpCode.CpAsyncCommit:
                CommitGroup(w);
                break;
            case OpCode.CpAsyncWait:
                CommitWait(w, ins, (int)Get(w, ins.Ops[0], 0));
                break;
            case OpCode.CpAsyncWaitAll:
                CommitGroup(w);
                CommitWait(w, ins, 0);
                break;
            case OpCode.MbarInit or OpCode.MbarArrive or OpCode.MbarExpectTx or OpCode.MbarCompleteTx or OpCode.MbarWait or OpCode.MbarInval:
                Mbarrier(w, ins, active);
                break;
            case OpCode.CpBulk or OpCode.CpBulkTensor or OpCode.CpBulkCommit or OpCode.CpBulkWait:
                BulkCopy(w, ins, active);
                break;
            case OpCode.LdMatrix:
                RequireFullWarp(w, ins, at, active);
                LdMatrix(w, ins);
                break;
            case OpCode.Mma:
                RequireFullWarp(w, ins, at, active);
                Mma(w, ins);
                break;
            case OpCode.Shfl or OpCode.Vote or OpCode.Redux or OpCode.Activemask:
                WarpOp(w, ins, active, at);
                break;
            case OpCode.Bra:
            {
                if (active != at && ins.Uniform)
                {
                    // bra.uni promises that every lane at it branches alike. A GPU with independent
                    // thread scheduling still runs a divergent one correctly (ptxas only omits the
                    // reconvergence point), so this is a finding to report, not a fault: ILGPU 1.5.3
                    // marks some data-dependent branches uniform.
                    Warn(w, BitOperations.TrailingZeroCount(at & ~active), $"bra.uni diverges (lanes 0x{active:x8} branch, 0x{at & ~active:x8} do not): the PTX promises a uniform branch");
                }
                int target = ins.Ops[0].Target;
                uint m = active;
                while (m != 0)
                {
                    int l = BitOperations.TrailingZeroCount(m);
                    m &= m - 1;
                    w.Pc[l] = target;
                }
                break;
            }
            case OpCode.Ret or OpCode.Exit:
                w.Live &= ~active;
                break;
            case OpCode.Trap:
                throw Fault(EmuError.IllegalInstruction, w, BitOperations.TrailingZeroCount(active), _curPc, "trap executed");
            case OpCode.Bar or OpCode.BarArrive:
                Barrier(w, ins, active);
                break;
            case OpCode.BarWarp:
                // The member lanes have all arrived (JoinWarpSync held the early ones); memory is
                // sequentially consistent here, so the ordering it guarantees is already given.
                RequireMembers(w, ins, (uint)Get(w, ins.Ops[0], BitOperations.TrailingZeroCount(active)), active);
                break;
            case OpCode.Fence when ins.Has("proxy") && ins.Has("async"):
                ProxyFence(w, ins, active);
                break;
            case OpCode.Fence or OpCode.Nanosleep or OpCode.Prefetch:
                // Memory is sequentially consistent here: every access lands in program order.
                break;
            case OpCode.Wgmma or OpCode.WgmmaFence or OpCode.WgmmaCommit or OpCode.WgmmaWait or OpCode.StMatrix or OpCode.Elect or OpCode.SetMaxNReg:
                Hopper(w, ins, active, at);
                break;
            default:
                throw Fault(EmuError.NotSupported, w, BitOperations.TrailingZeroCount(active), _curPc,
                    $"the emulator does not implement the instruction '{ins.Opcode}'");
        }
    }

    private void RequireFullWarp(Warp w, Instr ins, uint at, uint active)
    {
        if (active != w.Exists || at != w.Exists)
        {
            throw Fault(EmuError.LaunchFailed, w, BitOperations.TrailingZeroCount(active | at), _curPc,
                $"{ins.Base}.sync.aligned executed by lanes 0x{active:x8} of 0x{w.Exists:x8}: every thread of the warp must execute it together");
        }
    }

    private void Barrier(Warp w, Instr ins, uint active)
    {
        int id = ins.Ops.Length > 0 ? (int)Get(w, ins.Ops[0], BitOperations.TrailingZeroCount(active)) : 0;
        int expected = ins.Ops.Length > 1 ? (int)Get(w, ins.Ops[1], BitOperations.TrailingZeroCount(active)) : 0;
        int n = BitOperations.PopCount(active);
        _barriers.TryGetValue(id, out var state);
        if (state.Expected != 0 && expected != 0 && state.Expected != expected && _ctx.Checks)
        {
            throw Fault(EmuError.LaunchFailed, w, BitOperations.TrailingZeroCount(active), _curPc,
                $"barrier {id} used with thread counts {state.Expected} and {expected} in one phase");
        }
        _barriers[id] = (state.Arrived + n, expected != 0 ? expected : state.Expected);
        if (ins.Op == OpCode.Bar)
        {
            w.Waiting |= active;
            uint m = active;
            while (m != 0)
            {
                int l = BitOperations.TrailingZeroCount(m);
                m &= m - 1;
                w.WaitBarrier[l] = id;
                w.WaitPc[l] = _curPc;
            }
        }
    }

    private ulong Get(Warp w, Operand o, int lane)
    {
        switch (o.Kind)
        {
            case OperandKind.Reg:
                return o.Negate ? w.R[(o.Reg * 32) + lane] ^ 1 : w.R[(o.Reg * 32) + lane];
            case OperandKind.Imm:
            case OperandKind.Symbol:
                return o.Imm;
            case OperandKind.Special:
                return Special(w, lane, o.Special);
            default:
                throw Fault(EmuError.IllegalInstruction, w, lane, _curPc, $"operand {o} cannot be read as a value");
        }
    }

    private void Set(Warp w, Operand o, int lane, ulong v)
    {
        if (o.Kind == OperandKind.Reg)
        {
            w.R[(o.Reg * 32) + lane] = v;
        }
        else if (o.Kind != OperandKind.Sink)
        {
            throw Fault(EmuError.IllegalInstruction, w, lane, _curPc, $"operand {o} cannot be written");
        }
    }

    private ulong Special(Warp w, int lane, SpecialReg s)
    {
        var g = _ctx.Config.Grid;
        var b = _ctx.Config.Block;
        return s switch
        {
            SpecialReg.TidX => w.TidX[lane],
            SpecialReg.TidY => w.TidY[lane],
            SpecialReg.TidZ => w.TidZ[lane],
            SpecialReg.NtidX => b.X,
            SpecialReg.NtidY => b.Y,
            SpecialReg.NtidZ => b.Z,
            SpecialReg.CtaidX => _ctaX,
            SpecialReg.CtaidY => _ctaY,
            SpecialReg.CtaidZ => _ctaZ,
            SpecialReg.NctaidX => g.X,
            SpecialReg.NctaidY => g.Y,
            SpecialReg.NctaidZ => g.Z,
            SpecialReg.LaneId => (ulong)lane,
            SpecialReg.WarpId => (ulong)w.Id,
            SpecialReg.NWarpId => (ulong)_warps.Length,
            SpecialReg.SmId => (ulong)(_cta % _ctx.Device.Properties.MultiprocessorCount),
            SpecialReg.NSmId => (ulong)_ctx.Device.Properties.MultiprocessorCount,
            SpecialReg.Clock or SpecialReg.Clock64 => (ulong)Stats.TotalInstructions,
            SpecialReg.GlobalTimer => (ulong)DateTime.UtcNow.Ticks * 100,
            SpecialReg.LanemaskEq => 1u << lane,
            SpecialReg.LanemaskLt => (1u << lane) - 1,
            SpecialReg.LanemaskLe => (uint)((2UL << lane) - 1),
            SpecialReg.LanemaskGt => ~(uint)((2UL << lane) - 1),
            SpecialReg.LanemaskGe => ~((1u << lane) - 1),
            SpecialReg.DynamicSmemSize => (ulong)_ctx.Config.DynamicSharedBytes,
            SpecialReg.TotalSmemSize => (ulong)_ctx.SharedBytes,
            SpecialReg.WarpSize => 32,
            _ => 0,
        };
    }

    private void Mov(Warp w, Instr ins, uint active)
    {
        var d = ins.Ops[0];
        var a = ins.Ops[1];
        int bits = Math.Max(8, ins.Type.Size() * 8);
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            if (d.Kind == OperandKind.Vector)
            {
                // Unpack: mov.b32 {lo, hi}, %r — element 0 takes the low bits.
                ulong v = Get(w, a, l);
                int part = bits / d.Elems.Length;
                for (int i = 0; i < d.Elems.Length; i++)
                {
                    Set(w, d.Elems[i], l, (v >> (i * part)) & Mask(part));
                }
            }
            else if (a.Kind == OperandKind.Vector)
            {
                int part = bits / a.Elems.Length;
                ulong v = 0;
                for (int i = 0; i < a.Elems.Length; i++)
                {
                    v |= (Get(w, a.Elems[i], l) & Mask(part)) << (i * part);
                }
                Set(w, d, l, v);
            }
            else
            {
                Set(w, d, l, ins.Type == PtxType.Pred ? Get(w, a, l) & 1 : Get(w, a, l) & Mask(bits));
            }
        }
    }

    private static ulong Mask(int bits) => bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;

    private void Cvta(Warp w, Instr ins, uint active)
    {
        // cvta.to.shared: generic -> shared offset; cvta.shared: shared offset -> generic.
        bool to = ins.Has("to");
        ulong window = ins.Space switch
        {
            "shared" => AddressSpace.SharedWindow,
            "local" => AddressSpace.LocalWindow,
            _ => 0,
        };
        int bits = ins.Type.Size() * 8;
        uint m = active;
        while (m != 0)
        {
            int l = BitOperations.TrailingZeroCount(m);
            m &= m - 1;
            ulong a = Get(w, ins.Ops[1], l);
            ulong r = window == 0 ? a : to ? a - window : a + window;
            Set(w, ins.Ops[0], l, r & Mask(bits));
        }
    }
}
