// WanVaeScratch: the decoder's working buffers, one device storage per named slot (the two
// activation ping-pong slots, the conv window, the attention's operands, ...), each grown to the
// largest view it has served and then kept. Why not the backend's WorkspacePool: the decoder
// needs a dozen buffers of very different sizes live in one call, more than the pool keeps idle,
// so it would free and reallocate them every frame; here a steady stream allocates nothing.
// Reuse is safe without synchronising because every op of a backend runs in order on its stream;
// a slot's view must not be used after the slot serves another one (it may have grown). A grown
// slot's old storage is only retired, and freed by Release once the caller has synchronised (the
// decoder's download of the frames), since queued kernels may still read it.
namespace Zoetrope.Engine.Decode;

/// <summary>Named, grow-only device buffers.</summary>
internal sealed class WanVaeScratch(Backend backend, DType dtype) : IDisposable
{
    private readonly Dictionary<string, Tensor> _slots = new(StringComparer.Ordinal);
    private readonly List<Tensor> _retired = [];

    /// <summary>A contiguous view of <paramref name="shape"/> on slot <paramref name="slot"/> (contents unspecified).</summary>
    public Tensor Take(string slot, Shape shape)
    {
        long n = Math.Max(1, shape.ElementCount);
        if (!_slots.TryGetValue(slot, out var storage) || storage.ElementCount < n)
        {
            if (storage is not null)
            {
                _retired.Add(storage);
            }
            storage = backend.Allocate(dtype, new Shape(n), $"wan-vae {slot}");
            _slots[slot] = storage;
        }
        return storage.Slice(0, 0, shape.ElementCount).Reshape(shape, slot);
    }

    /// <summary>Frees the storages grown out of; call after a synchronisation.</summary>
    public void Release()
    {
        foreach (var t in _retired)
        {
            t.Dispose();
        }
        _retired.Clear();
    }

    /// <summary>Device bytes the slots hold.</summary>
    public long Bytes => _slots.Values.Sum(t => t.ByteCount);

    /// <inheritdoc />
    public void Dispose()
    {
        Release();
        foreach (var t in _slots.Values)
        {
            t.Dispose();
        }
        _slots.Clear();
    }
}
