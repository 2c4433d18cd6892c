using System.Reflection;

namespace Zoetrope.Runtime.Ops;

/// <summary>An ILGPU kernel of an op, resolvable without running the op (for <c>zoe ptx</c>).</summary>
public sealed class KernelEntry
{
    private readonly Lazy<MethodInfo> _method;

    /// <summary>Names kernel <paramref name="methodName"/> of <paramref name="owner"/>, instantiated with <paramref name="typeArguments"/> when generic.</summary>
    public KernelEntry(Type owner, string methodName, params Type[] typeArguments)
    {
        Owner = owner;
        MethodName = methodName;
        TypeArguments = typeArguments;
        _method = new Lazy<MethodInfo>(Resolve);
    }

    /// <summary>The class declaring the kernel.</summary>
    public Type Owner { get; }

    /// <summary>The kernel method's name.</summary>
    public string MethodName { get; }

    /// <summary>Generic type arguments (empty when not generic).</summary>
    public IReadOnlyList<Type> TypeArguments { get; }

    /// <summary>The label used in listings and file names: <c>Method</c> or <c>Method&lt;float,F32Codec&gt;</c>.</summary>
    public string Label => TypeArguments.Count == 0
        ? MethodName
        : $"{MethodName}<{string.Join(",", TypeArguments.Select(t => t.Name))}>";

    /// <summary>The closed kernel method.</summary>
    public MethodInfo Method => _method.Value;

    private MethodInfo Resolve()
    {
        var method = Owner.GetMethod(MethodName, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
            ?? throw new InvalidOperationException($"{Owner.FullName} has no static kernel method {MethodName}");
        return TypeArguments.Count == 0 ? method : method.MakeGenericMethod([.. TypeArguments]);
    }
}
