// RecacheAttention: the prompt switch's t = 0 forward over the frames a stream keeps (LongLive
// KV-recache). Queries are those frames in time order; keys are the kept sinks (read from the
// cache as they are) followed by the frames' fresh K, with no mask (LongLive 1.0: every re-run
// frame sees every other) or the block-causal one (each block sees what it saw when it was
// generated); the fresh K/V then overwrite the frames' slots. The
// frames go through the QK path in runs of consecutive frames at consecutive read positions.
// Under the INT8 cache the fresh keys are quantized with the layer's fixed smoothing vector (or,
// when no sink is kept and so every cached frame is re-run, with one computed by the first run and
// used by the rest), and Q, rotated run by run, is quantized as a whole by sage_quantize.
using Zoetrope.Attention;

namespace Zoetrope.Engine;

/// <summary>Self-attention of a recache forward; owns the key buffers of its size until disposed.</summary>
internal sealed class RecacheAttention : ISelfAttention, IDisposable
{
    private readonly WanModel _model;
    private readonly KvCache _cache;
    private readonly IReadOnlyList<long> _frames;
    private readonly int _keptSinks;
    private readonly int _blockFrames;
    private readonly bool _meansFixed;
    private readonly RecacheMask _mask;
    private readonly Tensor _k;
    private readonly Tensor _v;
    private readonly Tensor? _kScale;

    /// <summary>
    /// For <paramref name="frames"/> (cached, ascending, whole blocks) after <paramref name="keptSinks"/>
    /// sink frames whose cached K/V stay as they are, under <paramref name="mask"/>.
    /// </summary>
    public RecacheAttention(WanModel model, KvCache cache, IReadOnlyList<long> frames, int keptSinks, int blockFrames, RecacheMask mask = RecacheMask.None)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _frames = frames ?? throw new ArgumentNullException(nameof(frames));
        (_keptSinks, _blockFrames, _mask) = (keptSinks, blockFrames, mask);
        var c = model.Config;
        long rows = (long)(keptSinks + frames.Count) * c.FrameTokens;
        var shape = new Shape(1, rows, c.Heads, c.HeadDim);
        var act = model.Options.Activations;
        bool int8 = cache.Format == KvFormat.Int8;
        _meansFixed = cache.MeansFixed;
        _k = model.Backend.Allocate(int8 ? DType.I8 : act, shape, "recache_k");
        _v = model.Backend.Allocate(act, shape, "recache_v");
        _kScale = int8 ? model.Backend.Allocate(DType.F32, new Shape(1, rows, c.Heads), "recache_k_scale") : null;
    }

    /// <inheritdoc />
    public void Attend(WanLayer layer, ForwardScratch s)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(s);
        long t = _model.Config.FrameTokens;
        int l = layer.Index;
        var qk = _model.Qk;
        bool int8 = _kScale is not null;
        if (int8)
        {
            _cache.ReadInt8Into(l, 0, _keptSinks, _k, _kScale!, _v, 0);
        }
        else
        {
            _cache.ReadInto(l, 0, _keptSinks, _k, _v, 0);
        }
        long baseRow = _keptSinks * t;
        bool meanGiven = _meansFixed;
        foreach (var (index, count) in Runs())
        {
            long first = _frames[index];
            long row = index * t;
            long rows = count * t;
            long pos = _cache.PositionOf(first);
            var qRaw = s.Q.Slice(0, row, rows);
            var kRaw = s.K.Slice(0, row, rows);
            var v = s.V.Slice(1, row, rows);
            qk.NormRope(qRaw, layer.NormQ, s.QRot.Slice(1, row, rows), s.QNorm.Slice(1, row, rows), count, pos);
            _v.Slice(1, baseRow + row, rows).CopyFrom(v);
            if (int8)
            {
                // Absolute policy only: the read position is the frame itself, as stored.
                var k8 = _k.Slice(1, baseRow + row, rows);
                var scale = _kScale!.Slice(1, baseRow + row, rows);
                qk.KeyInt8(kRaw, layer.NormK, k8, scale, _cache.KeyMean(l), meanGiven, count, first);
                meanGiven = true;
                _cache.WriteInt8(l, first, count, k8, scale, v);
                continue;
            }
            var kRead = _k.Slice(1, baseRow + row, rows);
            qk.NormRope(kRaw, layer.NormK, kRead, s.KNorm.Slice(1, row, rows), count, pos);
            if (_cache.StoresRotated)
            {
                _cache.Write(l, first, count, kRead, v); // stored rotated at the frame, which is its read position here
            }
            else
            {
                foreach (var (offset, frames) in _cache.Runs(first, count))
                {
                    qk.Norm(kRaw.Slice(0, offset * t, frames * t), layer.NormK, _cache.KeySlots(l, first + offset, frames));
                }
                _cache.WriteValues(l, first, count, v);
            }
        }
        var mask = _mask == RecacheMask.BlockCausal ? AttentionMask.BlockCausal(_blockFrames * (int)t, 0, _keptSinks / _blockFrames) : AttentionMask.None;
        if (int8)
        {
            var sage = s.SageQ;
            var c = _model.Config;
            SageQuantize.Run(SageQuantize.Params.Query(s.QRot.DType, 1, c.Heads, (int)s.Tokens, c.HeadDim, HeadLayout.Nhd, SageQuery.Rows), s.QRot, sage.Q, sage.QScale, null);
            _model.Kernel.RunSage(sage.Q, sage.QScale, _k, _kScale!, _v, s.O, mask, _cache.KeyMean(l));
            return;
        }
        _model.Kernel.Run(layer, s.QRot, _k, _v, s.O, mask);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
        _kScale?.Dispose();
    }

    // Runs of consecutive frames with consecutive read positions (sinks and window apart).
    private IEnumerable<(int Index, int Count)> Runs()
    {
        int i = 0;
        while (i < _frames.Count)
        {
            int n = 1;
            while (i + n < _frames.Count && _frames[i + n] == _frames[i] + n && _cache.PositionOf(_frames[i + n]) == _cache.PositionOf(_frames[i]) + n)
            {
                n++;
            }
            yield return (i, n);
            i += n;
        }
    }
}
