using System.Collections.Concurrent;

namespace Zoetrope.Emulator.Host;

/// <summary>
/// Opaque driver handles (contexts, streams, events, modules, functions) for objects that live in
/// C#. Each kind has its own tag in the high bits, so a stream handle given where a module is
/// expected is an invalid handle, as on a GPU, not a different object. Nobody dereferences them.
/// </summary>
internal sealed class HandleTable<T>(string kind, long tag)
    where T : class
{
    private readonly ConcurrentDictionary<nint, T> _items = new();
    private long _next;

    /// <summary>The live objects.</summary>
    public int Count => _items.Count;

    /// <summary>Registers <paramref name="item"/> and returns its new handle.</summary>
    public nint Add(T item)
    {
        var handle = (nint)((tag << 40) | (Interlocked.Increment(ref _next) << 4));
        _items[handle] = item;
        return handle;
    }

    /// <summary>The object of <paramref name="handle"/>.</summary>
    /// <exception cref="HostException">Not a live handle of this kind (INVALID_HANDLE).</exception>
    public T Get(nint handle, string call) =>
        _items.TryGetValue(handle, out var item)
            ? item
            : throw HostException.InvalidHandle($"{call}: 0x{handle:x} is not a live {kind}");

    /// <summary>True when <paramref name="handle"/> is live.</summary>
    public bool Contains(nint handle) => _items.ContainsKey(handle);

    /// <summary>Removes <paramref name="handle"/> and returns its object.</summary>
    /// <exception cref="HostException">Not a live handle of this kind (INVALID_HANDLE).</exception>
    public T Remove(nint handle, string call) =>
        _items.TryRemove(handle, out var item)
            ? item
            : throw HostException.InvalidHandle($"{call}: 0x{handle:x} is not a live {kind}");

    /// <summary>Removes every handle whose object matches <paramref name="predicate"/>.</summary>
    public void RemoveWhere(Func<T, bool> predicate)
    {
        foreach (var (handle, item) in _items)
        {
            if (predicate(item))
            {
                _items.TryRemove(handle, out _);
            }
        }
    }
}
