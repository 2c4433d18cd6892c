// RecacheAttention: the prompt switch's t = 0 forward over the frames a stream keeps (LongLive
// KV-recache). Queries are those frames in time order; keys are the kept sinks (read from the
// cache as they are) followed by the frames' fresh K, under the block-causal mask, so each block
// sees what it saw when it was generated; the fresh K/V then overwrite the frames' slots.
namespace Zoetrope.Engine;

/// <summary>Self-attention of a recache forward; owns the key buffers of its size until disposed.</summary>
public sealed class RecacheAttention : ISelfAttention, IDisposable
{
    private readonly WanModel _model;
    private readonly KvCache _cache;
    private readonly IReadOnlyList<long> _frames;
    private readonly int _keptSinks;
    private readonly int _blockFrames;
    private readonly Tensor _k;
    private readonly Tensor _v;

    /// <summary>
    /// For <paramref name="frames"/> (cached, ascending, whole blocks) after <paramref name="keptSinks"/>
    /// sink frames whose cached K/V stay as they are.
    /// </summary>
    public RecacheAttention(WanModel model, KvCache cache, IReadOnlyList<long> frames, int keptSinks, int blockFrames)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _frames = frames ?? throw new ArgumentNullException(nameof(frames));
        (_keptSinks, _blockFrames) = (keptSinks, blockFrames);
        var c = model.Config;
        var shape = new Shape(1, (long)(keptSinks + frames.Count) * c.FrameTokens, c.Heads, c.HeadDim);
        _k = model.Backend.Allocate(model.Options.Activations, shape, "recache_k");
        _v = model.Backend.Allocate(model.Options.Activations, shape, "recache_v");
    }

    /// <inheritdoc />
    public void Attend(int layer, ForwardScratch s)
    {
        long t = _model.Config.FrameTokens;
        _cache.ReadInto(layer, 0, _keptSinks, _k, _v, 0);
        long baseRow = _keptSinks * t;
        foreach (var (index, count) in Runs())
        {
            long first = _frames[index];
            long rows = count * t;
            var q = s.QNorm.Slice(1, index * t, rows);
            var k = s.KNorm.Slice(1, index * t, rows);
            var v = s.V.Slice(1, index * t, rows);
            long pos = _cache.PositionOf(first);
            _model.Rotate(q, s.QRot.Slice(1, index * t, rows), count, pos);
            var kRead = _k.Slice(1, baseRow + (index * t), rows);
            _model.Rotate(k, kRead, count, pos);
            _v.Slice(1, baseRow + (index * t), rows).CopyFrom(v);
            if (_cache.StoresRotated)
            {
                _model.Rotate(k, s.KRot.Slice(1, index * t, rows), count, first);
                _cache.Write(layer, first, count, s.KRot.Slice(1, index * t, rows), v);
            }
            else
            {
                _cache.Write(layer, first, count, k, v);
            }
        }
        var mask = AttentionMask.BlockCausal(_blockFrames * (int)t, 0, _keptSinks / _blockFrames);
        _model.Kernel.Run(s.QRot, _k, _v, s.O, mask);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _k.Dispose();
        _v.Dispose();
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
