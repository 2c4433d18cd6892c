// KvCache: the rolling self-attention cache of a stream, one K and one V pool per layer,
// preallocated for sink + window latent frames and used as a ring: slots [0, s) hold the sink
// frames 0..s-1 for the whole run; frame f >= s lives in slot s + (f - s) mod W. A new block
// overwrites its slots in place (evicting the frames W back); nothing is ever shifted. Pools are
// NHD [1, slots*T, H, D], so one frame is T contiguous rows and a write is one device copy.
//
// Attention reads the valid prefix of the pool, [0, filled) slots, in slot order: every cached
// frame is visible to the block being generated (bidirectional inside it, causal before it), so
// no mask is needed and the order of keys is immaterial. Keys are stored rotated by their absolute
// frame (RopePolicy.Absolute), or un-rotated and rotated on read into one scratch pool by their
// place in the cache (CacheRelative; also the sinks under Deep Sink's re-alignment).
using Zoetrope.Attention;
using Zoetrope.Attention.Rope;

namespace Zoetrope.Engine;

/// <summary>Per-layer K/V ring pools for sink + window frames, with absolute frame ids per slot.</summary>
public sealed class KvCache : IDisposable
{
    private readonly DiTConfig _c;
    private readonly StreamOptions _o;
    private readonly Tensor _table;
    private readonly Tensor[] _k;
    private readonly Tensor[] _v;
    private readonly Tensor? _kRead;
    private readonly long[] _frameAt;

    /// <summary>Allocates the pools on <paramref name="backend"/> in <paramref name="dtype"/>.</summary>
    public KvCache(Backend backend, DiTConfig config, StreamOptions options, DType dtype, Tensor ropeTable)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _c = config ?? throw new ArgumentNullException(nameof(config));
        _o = options ?? throw new ArgumentNullException(nameof(options));
        _table = ropeTable ?? throw new ArgumentNullException(nameof(ropeTable));
        options.Validate();
        if (options.SinkFrames + options.WindowFrames > WanRopeTable.Positions)
        {
            throw new ArgumentException($"stream: sinks {options.SinkFrames} + window {options.WindowFrames} frames exceed the {WanRopeTable.Positions}-position RoPE table");
        }
        Slots = options.SinkFrames + options.WindowFrames;
        var shape = new Shape(1, (long)Slots * config.FrameTokens, config.Heads, config.HeadDim);
        _k = new Tensor[config.Layers];
        _v = new Tensor[config.Layers];
        for (int i = 0; i < config.Layers; i++)
        {
            _k[i] = backend.Allocate(dtype, shape, $"k_cache[{i}]");
            _v[i] = backend.Allocate(dtype, shape, $"v_cache[{i}]");
        }
        StoresRotated = options.Rope == RopePolicy.Absolute && !(options.RealignSinks && options.SinkFrames > 0);
        _kRead = StoresRotated ? null : backend.Allocate(dtype, shape, "k_cache_rotated");
        _frameAt = Enumerable.Repeat(-1L, Slots).ToArray();
    }

    /// <summary>Frame slots per layer (sinks + window).</summary>
    public int Slots { get; }

    /// <summary>Whether K is stored rotated (absolute policy, no sink re-alignment).</summary>
    public bool StoresRotated { get; }

    /// <summary>Slots holding a frame. Frames claimed in order fill a prefix of the pool, which is what attention reads.</summary>
    public int Filled
    {
        get
        {
            int filled = _frameAt.Count(f => f >= 0);
            if (filled > 0 && _frameAt[filled - 1] < 0)
            {
                throw new InvalidOperationException(
                    $"kv cache: the filled slots are not a prefix ([{string.Join(", ", _frameAt)}]); frames must be claimed in order, without gaps");
            }
            return filled;
        }
    }

    /// <summary>Bytes of the K/V pools (and the rotation scratch), all layers.</summary>
    public long Bytes => (_k.Sum(t => t.ByteCount) * 2) + (_kRead?.ByteCount ?? 0);

    /// <summary>Bytes of K and V for <paramref name="frames"/> cached frames over all layers of <paramref name="c"/> (no allocation).</summary>
    public static long PoolBytes(DiTConfig c, int frames, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(c);
        return 2L * c.Layers * frames * c.FrameTokens * c.Dim * dtype.Size();
    }

    /// <summary>The absolute frame in each slot (-1 when empty).</summary>
    public IReadOnlyList<long> FrameAt => _frameAt;

    /// <summary>The cached frames in time order.</summary>
    public IReadOnlyList<long> Frames => _frameAt.Where(f => f >= 0).Order().ToArray();

    /// <summary>The raw K pool of layer <paramref name="layer"/> [1, slots*T, H, D] (as stored; for inspection).</summary>
    public Tensor Keys(int layer) => _k[layer];

    /// <summary>The raw V pool of layer <paramref name="layer"/> [1, slots*T, H, D].</summary>
    public Tensor Values(int layer) => _v[layer];

    /// <summary>The slot frame <paramref name="frame"/> lives in.</summary>
    public int SlotOf(long frame) =>
        frame < _o.SinkFrames ? (int)frame : _o.SinkFrames + (int)((frame - _o.SinkFrames) % _o.WindowFrames);

    /// <summary>
    /// Claims the slots of frames [<paramref name="first"/>, first + <paramref name="frames"/>) for the
    /// block being generated (evicting what was W frames back). Idempotent within a block.
    /// </summary>
    public void Claim(long first, int frames)
    {
        for (long f = first; f < first + frames; f++)
        {
            _frameAt[SlotOf(f)] = f;
        }
    }

    /// <summary>Empties the cache (a new stream).</summary>
    public void Clear() => Array.Fill(_frameAt, -1L);

    /// <summary>The RoPE position frame <paramref name="frame"/> is read at (it must be cached).</summary>
    public long PositionOf(long frame)
    {
        if (_o.Rope == RopePolicy.CacheRelative)
        {
            long rank = 0;
            foreach (long f in _frameAt)
            {
                rank += f >= 0 && f < frame ? 1 : 0;
            }
            return rank;
        }
        if (frame < _o.SinkFrames && _o.RealignSinks)
        {
            // Deep Sink: the sinks sit just before the oldest window frame in the cache.
            long oldest = _frameAt.Where(f => f >= _o.SinkFrames).DefaultIfEmpty(_o.SinkFrames).Min();
            return oldest - _o.SinkFrames + frame;
        }
        return frame;
    }

    /// <summary>Copies the block's K (as stored: see <see cref="StoresRotated"/>) and V, [1, frames*T, H, D], into its slots of layer <paramref name="layer"/>.</summary>
    public void Write(int layer, long first, int frames, Tensor k, Tensor v)
    {
        long t = _c.FrameTokens;
        for (int j = 0; j < frames; j++)
        {
            long slot = SlotOf(first + j);
            if (_frameAt[slot] != first + j)
            {
                throw new InvalidOperationException($"kv cache: frame {first + j} was not claimed (slot {slot} holds {_frameAt[slot]})");
            }
            _k[layer].Slice(1, slot * t, t).CopyFrom(k.Slice(1, j * t, t));
            _v[layer].Slice(1, slot * t, t).CopyFrom(v.Slice(1, j * t, t));
        }
    }

    /// <summary>K (rotated for reading) and V of the filled slots of layer <paramref name="layer"/>, [1, filled*T, H, D].</summary>
    public (Tensor K, Tensor V) Read(int layer)
    {
        long rows = (long)Filled * _c.FrameTokens;
        var v = _v[layer].Slice(1, 0, rows);
        if (StoresRotated)
        {
            return (_k[layer].Slice(1, 0, rows), v);
        }
        RotateSlots(layer, _kRead!, 0, Filled);
        return (_kRead!.Slice(1, 0, rows), v);
    }

    /// <summary>K of slots [<paramref name="from"/>, from + <paramref name="count"/>) of layer <paramref name="layer"/>, rotated for reading, with their V, into <paramref name="dstK"/> and <paramref name="dstV"/> from row <paramref name="dstRow"/>.</summary>
    public void ReadInto(int layer, int from, int count, Tensor dstK, Tensor dstV, long dstRow)
    {
        long t = _c.FrameTokens;
        for (int s = from; s < from + count; s++)
        {
            var dk = dstK.Slice(1, dstRow + ((s - from) * t), t);
            var src = _k[layer].Slice(1, s * t, t);
            if (StoresRotated)
            {
                dk.CopyFrom(src);
            }
            else
            {
                FrameRope.Rotate(_c, _table, src, dk, 1, PositionOf(_frameAt[s]));
            }
            dstV.Slice(1, dstRow + ((s - from) * t), t).CopyFrom(_v[layer].Slice(1, s * t, t));
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _k.Concat(_v))
        {
            t.Dispose();
        }
        _kRead?.Dispose();
    }

    // Rotates slots [from, from+count) of layer's K into dst's same rows, one RopeApply per run of
    // slots whose positions are consecutive (at most three: the sinks and the two arcs of the ring).
    private void RotateSlots(int layer, Tensor dst, int from, int count)
    {
        long t = _c.FrameTokens;
        int s = from;
        while (s < from + count)
        {
            long pos = PositionOf(_frameAt[s]);
            int run = 1;
            while (s + run < from + count && PositionOf(_frameAt[s + run]) == pos + run)
            {
                run++;
            }
            FrameRope.Rotate(_c, _table, _k[layer].Slice(1, s * t, run * t), dst.Slice(1, s * t, run * t), run, pos);
            s += run;
        }
    }
}
