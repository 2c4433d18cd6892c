namespace Zoetrope.Emulator.Exec;

/// <summary>
/// Shadow state of a CTA's shared memory, one entry per byte, for the checks a GPU does not make:
/// <list type="bullet">
/// <item>a race: a byte written by one warp and read or written by another warp in the same
/// barrier interval (between two releases of a barrier);</item>
/// <item>a read of a byte no thread of the CTA has written;</item>
/// <item>a read of a byte a cp.async is still copying into (issued, its group not yet waited for);</item>
/// <item>a plain ld/st of the 8 bytes of a live mbarrier (only mbarrier instructions may touch them);</item>
/// <item>a read of bytes a bulk copy (TMA) wrote for an mbarrier phase by a thread that has not
/// observed that phase complete (the copies land at issue here; on a GPU they may not have).</item>
/// </list>
/// The async proxy's reads in flight and unfenced generic writes are in <see cref="Async"/>.
/// Stamps carry the CTA's serial number, so the arrays are reused across CTAs without clearing.
/// Lanes of one warp are not checked against each other (they run in lockstep here; on Volta and
/// later that exchange would need __syncwarp, which this model does not flag).
/// </summary>
internal sealed class SharedShadow
{
    private long[] _writeStamp = [];
    private short[] _writeWarp = [];
    private long[] _readStamp = [];
    private short[] _readWarp = [];
    private byte[] _pending = [];
    private byte[] _mbarrier = [];
    private int[] _asyncBarrier = [];
    private long[] _asyncPhase = [];
    private long _cta;
    private long _epoch;

    /// <summary>wgmma operand and bulk-store source reads in flight; generic writes not yet fenced for the async proxy.</summary>
    public AsyncProxyTracker Async { get; } = new();

    /// <summary>Set while the async proxy reads through <see cref="Read"/> (a wgmma's descriptor operands): names the reader.</summary>
    public string? AsyncReader { get; set; }

    /// <summary>The first read of a never-written byte in this interval: byte, warp, and the reader's (lane, pc).</summary>
    public (int Byte, int Warp, (int Lane, int Pc) At)? Uninitialised { get; set; }

    /// <summary>Tells the reader's lane and PC, for <see cref="Uninitialised"/>.</summary>
    public Func<(int Lane, int Pc)>? Where { get; set; }

    /// <summary>The current barrier interval's stamp.</summary>
    private long Stamp => (_cta << 24) | _epoch;

    public void BeginCta(long serial, int bytes)
    {
        if (_writeStamp.Length < bytes)
        {
            _writeStamp = new long[bytes];
            _writeWarp = new short[bytes];
            _readStamp = new long[bytes];
            _readWarp = new short[bytes];
            _pending = new byte[bytes];
            _mbarrier = new byte[bytes];
            _asyncBarrier = new int[bytes];
            _asyncPhase = new long[bytes];
            Array.Fill(_writeStamp, -1);
            Array.Fill(_readStamp, -1);
        }
        else
        {
            Array.Clear(_pending, 0, bytes);
            Array.Clear(_mbarrier, 0, bytes);
            Array.Clear(_asyncBarrier, 0, bytes);
        }
        _cta = serial + 1;
        _epoch = 0;
        Uninitialised = null;
        AsyncReader = null;
    }

    /// <summary>Tells whether the reading thread has observed phase (barrier offset, phase index) complete.</summary>
    public Func<int, long, bool>? Observed { get; set; }

    /// <summary>A bulk copy wrote these bytes; they are for threads that observed <paramref name="phase"/> of the mbarrier at <paramref name="barrier"/> complete.</summary>
    public void TagAsync(int offset, int size, int barrier, long phase)
    {
        Array.Fill(_asyncBarrier, barrier + 1, offset, size);
        Array.Fill(_asyncPhase, phase, offset, size);
    }

    /// <summary>An mbarrier was initialised (<paramref name="live"/>) or invalidated at these 8 bytes.</summary>
    public void MarkMbarrier(int offset, bool live) => Array.Fill(_mbarrier, live ? (byte)1 : (byte)0, offset, 8);

    private string? MbarrierBytes(int b, string what) => _mbarrier[b] != 0
        ? $"{what} shared byte {b}, part of the live mbarrier at offset {b & ~7} with a plain ld/st: an mbarrier's bytes may only be accessed through mbarrier instructions (mbarrier.inval it first to reuse the memory)"
        : null;

    /// <summary>A barrier released: a new interval begins.</summary>
    public void Barrier() => _epoch++;

    /// <summary>Checks and records a read; returns the finding or null.</summary>
    public string? Read(int offset, int size, int warp, string? asyncReader = null)
    {
        asyncReader ??= AsyncReader;
        if (asyncReader is not null && Async.TrackFences && Async.CheckAsyncRead(offset, offset + size, asyncReader) is { } unfenced)
        {
            return unfenced;
        }
        long stamp = Stamp;
        for (int b = offset; b < offset + size; b++)
        {
            if (MbarrierBytes(b, "reads") is { } m)
            {
                return m;
            }
            if (_asyncBarrier[b] != 0 && Observed is { } observed && !observed(_asyncBarrier[b] - 1, _asyncPhase[b]))
            {
                return $"reads shared byte {b} before its mbarrier wait: a bulk copy (TMA) wrote it for phase {_asyncPhase[b]} of the mbarrier at offset {_asyncBarrier[b] - 1}, and this thread has not observed that phase complete (mbarrier.try_wait missing or on the wrong parity)";
            }
            if (_pending[b] != 0)
            {
                return $"reads shared byte {b}, the destination of a cp.async whose group has not been waited for (cp.async.wait_group / wait_all missing or too late)";
            }
            long ws = _writeStamp[b];
            if (ws >> 24 != _cta)
            {
                // Not fatal yet: if another warp writes it before the next barrier, that is a race
                // (reported at the write); if none does, it is an uninitialised read, reported when
                // the interval ends.
                Uninitialised ??= (b, warp, Where?.Invoke() ?? default);
            }
            if (ws == stamp && _writeWarp[b] != warp)
            {
                return $"reads shared byte {b}, written by warp {_writeWarp[b]} with no barrier between (a race)";
            }
            if (_readStamp[b] == stamp)
            {
                if (_readWarp[b] != warp)
                {
                    _readWarp[b] = -2;
                }
            }
            else
            {
                _readStamp[b] = stamp;
                _readWarp[b] = (short)warp;
            }
        }
        return null;
    }

    /// <summary>Checks and records a write; returns the finding or null. With <paramref name="asyncProxy"/>
    /// a bulk copy (TMA) lands: written through the async proxy, so nothing to fence.</summary>
    public string? Write(int offset, int size, int warp, bool atomic = false, bool asyncProxy = false)
    {
        if (Async.Busy && Async.CheckWrite(offset, offset + size) is { } inFlight)
        {
            return inFlight;
        }
        long stamp = Stamp;
        for (int b = offset; b < offset + size; b++)
        {
            if (MbarrierBytes(b, "writes") is { } mb)
            {
                return mb;
            }
            if (!atomic)
            {
                if (_pending[b] != 0)
                {
                    return $"writes shared byte {b} while a cp.async still copies into it";
                }
                if (_writeStamp[b] == stamp && _writeWarp[b] != warp)
                {
                    return $"writes shared byte {b}, also written by warp {_writeWarp[b]} with no barrier between (a race)";
                }
                if (_readStamp[b] == stamp && _readWarp[b] != warp)
                {
                    return _readWarp[b] == -2
                        ? $"writes shared byte {b}, read by other warps with no barrier between (a race)"
                        : $"writes shared byte {b}, read by warp {_readWarp[b]} with no barrier between (a race)";
                }
            }
            _writeStamp[b] = stamp;
            _writeWarp[b] = (short)warp;
            _asyncBarrier[b] = 0;
        }
        if (Async.TrackFences)
        {
            if (asyncProxy)
            {
                Async.AsyncWrite(offset, offset + size);
            }
            else
            {
                var (lane, pc) = Where?.Invoke() ?? default;
                Async.GenericWrite(offset, offset + size, (warp * 32) + lane, pc);
            }
        }
        return null;
    }

    /// <summary>A cp.async was issued into these bytes.</summary>
    public string? BeginAsync(int offset, int size)
    {
        // The copy may land at any time from now on: it must not overwrite what the async proxy still reads.
        if (Async.Busy && Async.CheckWrite(offset, offset + size) is { } inFlight)
        {
            return inFlight;
        }
        for (int b = offset; b < offset + size; b++)
        {
            _pending[b] = 1;
        }
        return null;
    }

    /// <summary>A cp.async landed: the bytes are written by <paramref name="warp"/> now.</summary>
    public string? EndAsync(int offset, int size, int warp)
    {
        for (int b = offset; b < offset + size; b++)
        {
            _pending[b] = 0;
        }
        return Write(offset, size, warp);
    }
}
