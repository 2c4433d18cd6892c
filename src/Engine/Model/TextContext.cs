namespace Zoetrope.Engine;

/// <summary>
/// One prompt's cross-attention keys and values, [1, L, H, D] per layer, computed once when the
/// prompt is set (<see cref="WanModel.EncodeText"/>) and read by every block and step after it.
/// </summary>
public sealed class TextContext : IDisposable
{
    private readonly Tensor[] _k;
    private readonly Tensor[] _v;

    internal TextContext(Tensor[] k, Tensor[] v)
    {
        _k = k;
        _v = v;
    }

    /// <summary>Bytes held on the device, all layers.</summary>
    public long Bytes => _k.Sum(t => t.ByteCount) + _v.Sum(t => t.ByteCount);

    /// <summary>K and V of layer <paramref name="layer"/>.</summary>
    public (Tensor K, Tensor V) Layer(int layer)
    {
        ObjectDisposedException.ThrowIf(_k.Length > 0 && _k[0].Storage.IsDisposed, this);
        return (_k[layer], _v[layer]);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _k.Concat(_v))
        {
            t.Dispose();
        }
    }
}
