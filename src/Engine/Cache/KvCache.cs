// KvCache: the rolling self-attention cache of a stream, one K and one V pool per layer,
// preallocated for sink + window latent frames and used as a ring: slots [0, s) hold the sink
// frames 0..s-1 for the whole run; frame f >= s lives in slot s + (f - s) mod W. A new block
// overwrites its slots in place (evicting the frames W back); nothing is ever shifted. Pools are
// NHD [1, slots*T, H, D], so one frame is T contiguous rows, and a block (whole blocks tile the
// sinks and the window) is one contiguous row range that the QK path writes into directly.
//
// Attention reads the valid prefix of the pool, [0, filled) slots, in slot order: every cached
// frame is visible to the block being generated (bidirectional inside it, causal before it), so
// no mask is needed and the order of keys is immaterial.
//
// Formats (KvFormat):
//   Activations  K and V in the activation dtype. Keys are stored rotated by their absolute frame
//                (RopePolicy.Absolute), or un-rotated and rotated for reading by their place in the
//                cache (CacheRelative; also the sinks under Deep Sink's re-alignment) into a read
//                pool per layer. A slot of the read pool is re-rotated only when its frame's read
//                position changed or its keys were rewritten: once per block after an eviction
//                (every window frame moves down a block) and the current block on each forward,
//                rather than the whole cache on every forward.
//   Int8         Sage's cache: K as INT8 codes, one f32 scale per token and head [1, slots*T, H],
//                smoothed by one vector per layer and head [1, H, D]. The vector is computed by the
//                forwards of the first block and fixed from the second block on (subtracting one
//                vector from every key adds a constant per query row, which softmax ignores, so it
//                need not be the mean of exactly the keys attended); a forward quantizes only its own
//                frames. V stays in the activation dtype (Sage's P.V reads f16/bf16, or quantizes it
//                to FP8 per call). Keys are stored rotated: the absolute policy only.
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
    private readonly Tensor[]? _kScale;
    private readonly Tensor[]? _kMean;
    private readonly Tensor[]? _kRead;
    private readonly long[][]? _rotatedAt;
    private readonly long[] _frameAt;

    /// <summary>Allocates the pools on <paramref name="backend"/>: V (and K unless <paramref name="format"/> is INT8) in <paramref name="dtype"/>.</summary>
    /// <exception cref="ArgumentException">Inconsistent options, or an INT8 cache under a policy that rotates keys on read.</exception>
    internal KvCache(Backend backend, DiTConfig config, StreamOptions options, DType dtype, Tensor ropeTable, KvFormat format = KvFormat.Activations)
    {
        ArgumentNullException.ThrowIfNull(backend);
        _c = config ?? throw new ArgumentNullException(nameof(config));
        _o = options ?? throw new ArgumentNullException(nameof(options));
        _table = ropeTable ?? throw new ArgumentNullException(nameof(ropeTable));
        options.Validate();
        if (options.CacheFrames > WanRopeTable.Positions)
        {
            throw new ArgumentException($"stream: sinks {options.SinkFrames} + window {options.WindowFrames} frames exceed the {WanRopeTable.Positions}-position RoPE table");
        }
        Format = format;
        Slots = options.CacheFrames;
        StoresRotated = StoresRotatedUnder(options);
        if (format == KvFormat.Int8 && !StoresRotated)
        {
            throw new ArgumentException(
                $"stream: the INT8 KV cache stores keys quantized and rotated once, when written; rope {(options.Rope == RopePolicy.CacheRelative ? "relative" : "absolute with re-aligned sinks")} re-rotates them on read (use --rope absolute without sink re-alignment, or --kv {dtype.Name()})");
        }
        long rows = (long)Slots * config.FrameTokens;
        var shape = new Shape(1, rows, config.Heads, config.HeadDim);
        _k = new Tensor[config.Layers];
        _v = new Tensor[config.Layers];
        if (format == KvFormat.Int8)
        {
            _kScale = new Tensor[config.Layers];
            _kMean = new Tensor[config.Layers];
        }
        else if (!StoresRotated)
        {
            _kRead = new Tensor[config.Layers];
            _rotatedAt = new long[config.Layers][];
        }
        for (int i = 0; i < config.Layers; i++)
        {
            _k[i] = backend.Allocate(format == KvFormat.Int8 ? DType.I8 : dtype, shape, $"k_cache[{i}]");
            _v[i] = backend.Allocate(dtype, shape, $"v_cache[{i}]");
            if (_kScale is not null)
            {
                _kScale[i] = backend.Allocate(DType.F32, new Shape(1, rows, config.Heads), $"k_scale_cache[{i}]");
                _kMean![i] = backend.Allocate(DType.F32, new Shape(1, config.Heads, config.HeadDim), $"k_mean[{i}]");
            }
            if (_kRead is not null)
            {
                _kRead[i] = backend.Allocate(dtype, shape, $"k_cache_rotated[{i}]");
                _rotatedAt![i] = Enumerable.Repeat(-1L, Slots).ToArray();
            }
        }
        _frameAt = Enumerable.Repeat(-1L, Slots).ToArray();
    }

    /// <summary>How K and V are stored.</summary>
    public KvFormat Format { get; }

    /// <summary>Frame slots per layer (sinks + window).</summary>
    public int Slots { get; }

    /// <summary>Whether K is stored rotated (absolute policy, no sink re-alignment).</summary>
    public bool StoresRotated { get; }

    /// <summary>Whether the INT8 cache's smoothing vectors are fixed (from the second block on); always false for other formats.</summary>
    public bool MeansFixed { get; private set; }

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

    /// <summary>Bytes of the pools (K, V, scales and smoothing vectors, the rotated-read pools), all layers.</summary>
    public long Bytes => _k.Concat(_v).Concat(_kScale ?? []).Concat(_kMean ?? []).Concat(_kRead ?? []).Sum(t => t.ByteCount);

    /// <summary>Whether keys are stored rotated under <paramref name="o"/> (absolute policy, no sink re-alignment).</summary>
    internal static bool StoresRotatedUnder(StreamOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        return o.Rope == RopePolicy.Absolute && !(o.RealignSinks && o.SinkFrames > 0);
    }

    /// <summary>Bytes of K and V in <paramref name="dtype"/> for <paramref name="frames"/> cached frames over all layers of <paramref name="c"/> (no allocation).</summary>
    internal static long PoolBytes(DiTConfig c, int frames, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(c);
        return 2L * c.Layers * frames * c.FrameTokens * c.Dim * dtype.Size();
    }

    /// <summary>
    /// Bytes one cached latent frame takes over all layers of <paramref name="c"/> in <paramref name="format"/>
    /// with V (and float K) in <paramref name="dtype"/>, plus the rotated-read copy of K when <paramref name="rotatesOnRead"/>.
    /// </summary>
    internal static long FrameBytes(DiTConfig c, KvFormat format, DType dtype, bool rotatesOnRead = false)
    {
        ArgumentNullException.ThrowIfNull(c);
        long tokens = (long)c.Layers * c.FrameTokens;
        long v = tokens * c.Dim * dtype.Size();
        long k = format == KvFormat.Int8 ? tokens * ((long)c.Dim + (4L * c.Heads)) : tokens * c.Dim * dtype.Size();
        return k + v + (rotatesOnRead && format != KvFormat.Int8 ? tokens * c.Dim * dtype.Size() : 0);
    }

    /// <summary>The absolute frame in each slot (-1 when empty).</summary>
    internal IReadOnlyList<long> FrameAt => _frameAt;

    /// <summary>The cached frames in time order.</summary>
    public IReadOnlyList<long> Frames => _frameAt.Where(f => f >= 0).Order().ToArray();

    /// <summary>The raw K pool of layer <paramref name="layer"/> [1, slots*T, H, D] (as stored: INT8 codes in the INT8 format).</summary>
    internal Tensor Keys(int layer) => _k[layer];

    /// <summary>The raw V pool of layer <paramref name="layer"/> [1, slots*T, H, D].</summary>
    internal Tensor Values(int layer) => _v[layer];

    /// <summary>The INT8 format's K scales of layer <paramref name="layer"/> [1, slots*T, H].</summary>
    internal Tensor KeyScales(int layer) => _kScale?[layer] ?? throw new InvalidOperationException($"kv cache: the {Format} format has no key scales");

    /// <summary>The INT8 format's smoothing vector of layer <paramref name="layer"/> [1, H, D] f32.</summary>
    internal Tensor KeyMean(int layer) => _kMean?[layer] ?? throw new InvalidOperationException($"kv cache: the {Format} format has no smoothing vector");

    /// <summary>The slot frame <paramref name="frame"/> lives in.</summary>
    internal int SlotOf(long frame) =>
        frame < _o.SinkFrames ? (int)frame : _o.SinkFrames + (int)((frame - _o.SinkFrames) % _o.WindowFrames);

    /// <summary>
    /// Claims the slots of frames [<paramref name="first"/>, first + <paramref name="frames"/>) for the
    /// block being generated (evicting what was W frames back). Idempotent within a block. In the
    /// INT8 format, a claim while other frames are cached fixes the smoothing vectors.
    /// </summary>
    internal void Claim(long first, int frames)
    {
        bool others = false;
        for (int s = 0; s < Slots; s++)
        {
            others |= _frameAt[s] >= 0 && (_frameAt[s] < first || _frameAt[s] >= first + frames);
        }
        MeansFixed |= Format == KvFormat.Int8 && others;
        for (long f = first; f < first + frames; f++)
        {
            _frameAt[SlotOf(f)] = f;
        }
    }

    /// <summary>Lets the next INT8 key write compute the smoothing vectors again (a prompt switch that re-runs every cached frame).</summary>
    internal void UnfixMeans() => MeansFixed = false;

    /// <summary>Marks the smoothing vectors fixed (after a write that computed them over every cached frame).</summary>
    internal void FixMeans() => MeansFixed = Format == KvFormat.Int8;

    /// <summary>Empties the cache (a new stream).</summary>
    internal void Clear()
    {
        Array.Fill(_frameAt, -1L);
        MeansFixed = false;
        foreach (var r in _rotatedAt ?? [])
        {
            Array.Fill(r, -1L);
        }
    }

    /// <summary>The RoPE position frame <paramref name="frame"/> is read at (it must be cached).</summary>
    internal long PositionOf(long frame)
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

    /// <summary>The first pool row of claimed frames [<paramref name="first"/>, first + <paramref name="frames"/>), which occupy consecutive slots.</summary>
    /// <exception cref="InvalidOperationException">A frame not claimed, or frames that do not sit in consecutive slots.</exception>
    internal long RowOf(long first, int frames)
    {
        int slot = SlotOf(first);
        for (int j = 0; j < frames; j++)
        {
            if (_frameAt[SlotOf(first + j)] != first + j)
            {
                throw new InvalidOperationException($"kv cache: frame {first + j} was not claimed (slot {SlotOf(first + j)} holds {_frameAt[SlotOf(first + j)]})");
            }
            if (SlotOf(first + j) != slot + j)
            {
                throw new InvalidOperationException($"kv cache: frames {first}..{first + frames - 1} wrap around the ring; write them in whole blocks");
            }
        }
        return (long)slot * _c.FrameTokens;
    }

    /// <summary>
    /// Where the QK path writes K of frames [<paramref name="first"/>, first + <paramref name="frames"/>)
    /// of layer <paramref name="layer"/>, as stored (rotated when <see cref="StoresRotated"/>; INT8 codes in that format).
    /// Writing it marks the frames' rotated-read copy stale.
    /// </summary>
    internal Tensor KeySlots(int layer, long first, int frames)
    {
        long row = RowOf(first, frames);
        if (_rotatedAt is not null)
        {
            for (int j = 0; j < frames; j++)
            {
                _rotatedAt[layer][SlotOf(first + j)] = -1;
            }
        }
        return _k[layer].Slice(1, row, (long)frames * _c.FrameTokens);
    }

    /// <summary>The INT8 format's per-token K scales [1, frames*T, H] of those frames' slots.</summary>
    internal Tensor KeyScaleSlots(int layer, long first, int frames) => KeyScales(layer).Slice(1, RowOf(first, frames), (long)frames * _c.FrameTokens);

    /// <summary>
    /// Frames [<paramref name="first"/>, first + <paramref name="frames"/>) split where the ring wraps:
    /// (offset from first, frames) of each run of consecutive slots (one run for a block).
    /// </summary>
    internal IEnumerable<(int Offset, int Frames)> Runs(long first, int frames)
    {
        int start = 0;
        for (int j = 1; j <= frames; j++)
        {
            if (j == frames || SlotOf(first + j) != SlotOf(first + j - 1) + 1)
            {
                yield return (start, j - start);
                start = j;
            }
        }
    }

    /// <summary>Copies V [1, frames*T, H, D] of claimed frames into their slots of layer <paramref name="layer"/>.</summary>
    internal void WriteValues(int layer, long first, int frames, Tensor v)
    {
        long t = _c.FrameTokens;
        foreach (var (offset, count) in Runs(first, frames))
        {
            _v[layer].Slice(1, RowOf(first + offset, count), count * t).CopyFrom(v.Slice(1, offset * t, count * t));
        }
    }

    /// <summary>Copies K (as stored: see <see cref="StoresRotated"/>) and V, [1, frames*T, H, D], of claimed frames into their slots of layer <paramref name="layer"/>.</summary>
    internal void Write(int layer, long first, int frames, Tensor k, Tensor v)
    {
        RequireFloat();
        long t = _c.FrameTokens;
        foreach (var (offset, count) in Runs(first, frames))
        {
            KeySlots(layer, first + offset, count).CopyFrom(k.Slice(1, offset * t, count * t));
        }
        WriteValues(layer, first, frames, v);
    }

    /// <summary>Copies INT8 K codes, their per-token scales and V of claimed frames into their slots of layer <paramref name="layer"/>.</summary>
    internal void WriteInt8(int layer, long first, int frames, Tensor k, Tensor kScale, Tensor v)
    {
        long t = _c.FrameTokens;
        foreach (var (offset, count) in Runs(first, frames))
        {
            KeySlots(layer, first + offset, count).CopyFrom(k.Slice(1, offset * t, count * t));
            KeyScaleSlots(layer, first + offset, count).CopyFrom(kScale.Slice(1, offset * t, count * t));
        }
        WriteValues(layer, first, frames, v);
    }

    /// <summary>
    /// K (rotated for reading) and V of the filled slots of layer <paramref name="layer"/>, [1, filled*T, H, D].
    /// Under a policy that rotates on read, only the slots whose position moved or whose keys were rewritten are rotated.
    /// </summary>
    internal (Tensor K, Tensor V) Read(int layer)
    {
        RequireFloat();
        int filled = Filled;
        long rows = (long)filled * _c.FrameTokens;
        var v = _v[layer].Slice(1, 0, rows);
        if (StoresRotated)
        {
            return (_k[layer].Slice(1, 0, rows), v);
        }
        RefreshRotated(layer, filled);
        return (_kRead![layer].Slice(1, 0, rows), v);
    }

    /// <summary>The INT8 format's K codes [1, filled*T, H, D], scales [1, filled*T, H], V and smoothing vector of layer <paramref name="layer"/>.</summary>
    internal (Tensor K, Tensor KScale, Tensor V, Tensor KMean) ReadInt8(int layer)
    {
        long rows = (long)Filled * _c.FrameTokens;
        return (_k[layer].Slice(1, 0, rows), KeyScales(layer).Slice(1, 0, rows), _v[layer].Slice(1, 0, rows), KeyMean(layer));
    }

    /// <summary>K of slots [<paramref name="from"/>, from + <paramref name="count"/>) of layer <paramref name="layer"/>, rotated for reading, with their V, into <paramref name="dstK"/> and <paramref name="dstV"/> from row <paramref name="dstRow"/>.</summary>
    internal void ReadInto(int layer, int from, int count, Tensor dstK, Tensor dstV, long dstRow)
    {
        RequireFloat();
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

    /// <summary>The INT8 format's K codes, scales and V of slots [<paramref name="from"/>, from + <paramref name="count"/>) into the destinations from row <paramref name="dstRow"/>.</summary>
    internal void ReadInt8Into(int layer, int from, int count, Tensor dstK, Tensor dstScale, Tensor dstV, long dstRow)
    {
        long t = _c.FrameTokens;
        long rows = count * t;
        dstK.Slice(1, dstRow, rows).CopyFrom(_k[layer].Slice(1, from * t, rows));
        dstScale.Slice(1, dstRow, rows).CopyFrom(KeyScales(layer).Slice(1, from * t, rows));
        dstV.Slice(1, dstRow, rows).CopyFrom(_v[layer].Slice(1, from * t, rows));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _k.Concat(_v).Concat(_kScale ?? []).Concat(_kMean ?? []).Concat(_kRead ?? []))
        {
            t.Dispose();
        }
    }

    private void RequireFloat()
    {
        if (Format != KvFormat.Activations)
        {
            throw new InvalidOperationException($"kv cache: the {Format} format holds INT8 keys; read them with ReadInt8");
        }
    }

    // Rotates the stale slots among [0, filled) of layer's K into its read pool, one RopeApply per
    // run of slots whose positions are consecutive (the sinks and the two arcs of the ring at most).
    private void RefreshRotated(int layer, int filled)
    {
        long t = _c.FrameTokens;
        var at = _rotatedAt![layer];
        int s = 0;
        while (s < filled)
        {
            long pos = PositionOf(_frameAt[s]);
            if (at[s] == pos)
            {
                s++;
                continue;
            }
            int run = 1;
            while (s + run < filled && at[s + run] != PositionOf(_frameAt[s + run]) && PositionOf(_frameAt[s + run]) == pos + run)
            {
                run++;
            }
            FrameRope.Rotate(_c, _table, _k[layer].Slice(1, s * t, run * t), _kRead![layer].Slice(1, s * t, run * t), run, pos);
            for (int j = 0; j < run; j++)
            {
                at[s + j] = pos + j;
            }
            s += run;
        }
    }
}
