using System.Collections.Concurrent;

namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Every op loaded in this process, by name. Filled by generated module initializers: each
/// assembly that defines ops registers them when it loads, and each assembly compiled with the
/// generator registers the op assemblies it references, so a tool sees all ops it was built with.
/// </summary>
public static class OpCatalog
{
    private static readonly ConcurrentDictionary<string, IOpInfo> ByName = new(StringComparer.Ordinal);

    /// <summary>All registered ops, sorted by name.</summary>
    public static IReadOnlyList<IOpInfo> All => ByName.Values.OrderBy(o => o.Name, StringComparer.Ordinal).ToArray();

    /// <summary>Adds ops (called by generated code; registering the same op twice is harmless).</summary>
    /// <exception cref="InvalidOperationException">Two different op classes claim one name.</exception>
    public static void Register(IEnumerable<IOpInfo> ops)
    {
        foreach (var op in ops)
        {
            var existing = ByName.GetOrAdd(op.Name, op);
            if (!ReferenceEquals(existing, op) && existing.OpType != op.OpType)
            {
                throw new InvalidOperationException(
                    $"op name '{op.Name}' is claimed by both {existing.OpType.FullName} and {op.OpType.FullName}");
            }
        }
    }

    /// <summary>The op named <paramref name="name"/>, or null.</summary>
    public static IOpInfo? Find(string name) => ByName.TryGetValue(name, out var op) ? op : null;

    /// <summary>The op named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">No such op; the message lists the known ones.</exception>
    public static IOpInfo Get(string name) =>
        Find(name) ?? throw new ArgumentException(
            $"unknown op '{name}'; known ops: {string.Join(", ", All.Select(o => o.Name))}", nameof(name));
}
