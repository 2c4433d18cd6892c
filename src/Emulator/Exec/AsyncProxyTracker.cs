namespace Zoetrope.Emulator.Exec;

/// <summary>
/// What the async proxy still reads from a CTA's shared memory, and which generic-proxy writes it
/// may not see yet; the checks a GPU does not make:
/// <list type="bullet">
/// <item>a wgmma.mma_async reads its descriptor operands (A, B) until the wgmma.wait_group that
/// retires its group (the emulator reads them at issue): a write to those bytes by any thread
/// before then may change what the tensor cores read;</item>
/// <item>a bulk store (cp.async.bulk[.tensor] global.shared::cta.bulk_group) reads its shared source
/// until a cp.async.bulk.wait_group[.read] of the issuing thread covers its bulk group;</item>
/// <item>a generic-proxy write (st.shared, stmatrix, atom, cp.async) is visible to the async proxy
/// only after the writing thread's fence.proxy.async (PTX ISA, "Memory consistency model: proxies").</item>
/// </list>
/// The reads in flight are an interval list, scanned on shared writes only while it is non-empty;
/// the fence state costs a few array stores per write and is kept only for functions that contain
/// a wgmma or a bulk store.
/// </summary>
internal sealed class AsyncProxyTracker
{
    private readonly List<Reader> _readers = new();
    private int[] _writer = [];
    private int[] _writerPc = [];
    private int[] _writerFence = [];
    private int[] _fences = [];

    /// <summary>One async-proxy read in flight: bytes [Lo, Hi) of a wgmma (Owner = warp) or a bulk store (Owner = thread).</summary>
    private readonly record struct Reader(int Lo, int Hi, bool Bulk, int Owner, long Group, string What);

    /// <summary>The PTX line text of a PC, for the messages.</summary>
    public Func<int, string> PcText { get; set; } = pc => $"PC {pc}";

    /// <summary>Whether generic writes are tracked for a missing fence.proxy.async (decided per function).</summary>
    public bool TrackFences { get; private set; }

    public void BeginCta(int bytes, int threads, bool trackFences)
    {
        _readers.Clear();
        TrackFences = trackFences;
        if (!trackFences)
        {
            return;
        }
        if (_writer.Length < bytes)
        {
            _writer = new int[bytes];
            _writerPc = new int[bytes];
            _writerFence = new int[bytes];
        }
        else
        {
            Array.Clear(_writer, 0, bytes);
        }
        if (_fences.Length < threads)
        {
            _fences = new int[threads];
        }
    }

    public bool Busy => _readers.Count != 0;

    /// <summary>A wgmma of <paramref name="warp"/> in (future) group <paramref name="group"/> reads these sorted, disjoint byte ranges.</summary>
    public void AddWgmma(int warp, long group, int pc, List<(int Lo, int Hi)> ranges)
    {
        string what = $"warp {warp}'s wgmma (group {group}, {PcText(pc)})";
        foreach (var (lo, hi) in ranges)
        {
            _readers.Add(new Reader(lo, hi, false, warp, group, what));
        }
    }

    /// <summary>A bulk store of <paramref name="thread"/> in (future) bulk group <paramref name="group"/> reads bytes [lo, hi).</summary>
    public void AddBulkStore(int thread, long group, int pc, int lo, int hi) =>
        _readers.Add(new Reader(lo, hi, true, thread, group, $"warp {thread / 32} lane {thread % 32}'s bulk store (bulk group {group}, {PcText(pc)})"));

    /// <summary>The groups before <paramref name="before"/> of this warp's wgmma's (or this thread's bulk stores) are complete.</summary>
    public void Retire(bool bulk, int owner, long before) =>
        _readers.RemoveAll(r => r.Bulk == bulk && r.Owner == owner && r.Group < before);

    /// <summary>Checks a write of bytes [lo, hi) against the reads in flight.</summary>
    public string? CheckWrite(int lo, int hi)
    {
        foreach (var r in _readers)
        {
            if (r.Lo < hi && lo < r.Hi)
            {
                string fix = r.Bulk ? "wait for it with cp.async.bulk.wait_group.read (by the issuing thread) first" : "wait for it with wgmma.wait_group first";
                return $"writes shared bytes [{Math.Max(lo, r.Lo)}, {Math.Min(hi, r.Hi)}) that {r.What} may still read: {fix}";
            }
        }
        return null;
    }

    /// <summary>A generic-proxy write of bytes [lo, hi) by <paramref name="thread"/>: unfenced until its next fence.proxy.async.</summary>
    public void GenericWrite(int lo, int hi, int thread, int pc)
    {
        Array.Fill(_writer, thread + 1, lo, hi - lo);
        Array.Fill(_writerPc, pc, lo, hi - lo);
        Array.Fill(_writerFence, _fences[thread], lo, hi - lo);
    }

    /// <summary>An async-proxy write (a bulk copy landing): nothing to fence.</summary>
    public void AsyncWrite(int lo, int hi) => Array.Clear(_writer, lo, hi - lo);

    /// <summary>fence.proxy.async by <paramref name="thread"/>: its earlier generic writes are visible to the async proxy.</summary>
    public void Fence(int thread) => _fences[thread]++;

    /// <summary>Checks an async-proxy read of bytes [lo, hi) for generic writes not yet fenced.</summary>
    public string? CheckAsyncRead(int lo, int hi, string reader)
    {
        for (int b = lo; b < hi; b++)
        {
            int t = _writer[b] - 1;
            if (t >= 0 && _fences[t] == _writerFence[b])
            {
                int e = b + 1;
                while (e < hi && _writer[e] == t + 1 && _writerPc[e] == _writerPc[b] && _fences[t] == _writerFence[e])
                {
                    e++;
                }
                return $"{reader} reads shared bytes [{b}, {e}), written by warp {t / 32} lane {t % 32} at {PcText(_writerPc[b])} without a fence.proxy.async before the async proxy reads it (the writing thread must execute fence.proxy.async.shared::cta after the write, then synchronise)";
            }
        }
        return null;
    }
}
