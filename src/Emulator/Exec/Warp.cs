namespace Zoetrope.Emulator.Exec;

/// <summary>
/// One warp's state: a 32-lane register file (register-major: <c>R[reg * 32 + lane]</c>, 64-bit
/// slots holding each register's bits), a program counter per lane (lanes diverge and are
/// re-joined by running the lowest PC first), and which lanes live, wait at a barrier, or exist.
/// </summary>
internal sealed class Warp
{
    public Warp(int id, int registers, int localBytes)
    {
        Id = id;
        R = new ulong[Math.Max(1, registers) * 32];
        Local = GC.AllocateArray<byte>(Math.Max(1, localBytes) * 32, pinned: true); // accessed through raw pointers
        LocalBytes = localBytes;
    }

    public int Id { get; }
    public ulong[] R { get; }
    public int[] Pc { get; } = new int[32];
    /// <summary>Lanes that exist (the last warp of a block may be partial).</summary>
    public uint Exists;
    /// <summary>Lanes that have not exited.</summary>
    public uint Live;
    /// <summary>Lanes blocked at a barrier.</summary>
    public uint Waiting;
    /// <summary>Lanes waiting at a warp-synchronous instruction for the rest of its member mask.</summary>
    public uint SyncWaiting;
    /// <summary>The barrier each waiting lane waits on.</summary>
    public int[] WaitBarrier { get; } = new int[32];
    /// <summary>The instruction index each waiting lane's barrier is at (for the divergent-barrier check).</summary>
    public int[] WaitPc { get; } = new int[32];
    public byte[] Local { get; }
    public int LocalBytes { get; }
    /// <summary>Thread index (x, y, z) of each lane.</summary>
    public readonly uint[] TidX = new uint[32], TidY = new uint[32], TidZ = new uint[32];
    /// <summary>cp.async copies issued and not yet committed to a group.</summary>
    public List<AsyncCopy> OpenGroup { get; } = new();
    /// <summary>Committed cp.async groups, oldest first.</summary>
    public List<List<AsyncCopy>> Groups { get; } = new();

    public void Reset(int firstThread, int threads, uint bx, uint by)
    {
        Array.Clear(R);
        Array.Clear(Pc);
        Array.Clear(Local);
        OpenGroup.Clear();
        Groups.Clear();
        Exists = 0;
        for (int l = 0; l < 32; l++)
        {
            int t = firstThread + l;
            if (t < threads)
            {
                Exists |= 1u << l;
                TidX[l] = (uint)(t % bx);
                TidY[l] = (uint)(t / bx % by);
                TidZ[l] = (uint)(t / (bx * by));
            }
        }
        Live = Exists;
        Waiting = 0;
        SyncWaiting = 0;
    }
}

/// <summary>A cp.async copy in flight: the bytes were read from global memory at issue and land in shared memory at the wait.</summary>
internal readonly record struct AsyncCopy(int SharedOffset, byte[] Data, int Lane, int Line);
