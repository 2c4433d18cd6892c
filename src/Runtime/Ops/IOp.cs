namespace Zoetrope.Runtime.Ops;

/// <summary>
/// What every op states besides its implementations: the tensors it takes and makes for given
/// parameters, its cost (for achieved-throughput figures), and how to recover its parameters
/// from user tensors (<c>zoe run-op</c>).
/// </summary>
/// <typeparam name="TParams">The op's parameter record.</typeparam>
public interface IOp<TParams>
    where TParams : struct, IOpParams
{
    /// <summary>The named input and output tensors for <paramref name="p"/>.</summary>
    static abstract OpSignature Signature(TParams p);

    /// <summary>Floating-point operations and bytes moved by one run with <paramref name="p"/>.</summary>
    static abstract OpCost Cost(TParams p);

    /// <summary>The parameters implied by user-supplied inputs and attributes.</summary>
    /// <exception cref="ArgumentException">An input is missing or of the wrong dtype/shape.</exception>
    static abstract TParams Bind(OpBinding binding);

    /// <summary>The attributes <see cref="Bind"/> reads: names, types, defaults, allowed values (the op's contract).</summary>
    static abstract OpAttributes Attributes { get; }

    /// <summary>The attribute values that make <see cref="Bind"/> give back <paramref name="p"/> (with the same inputs).</summary>
    static abstract OpAttributeValues AttributesOf(TParams p);
}
