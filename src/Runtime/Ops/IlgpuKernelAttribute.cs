namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Marks an ILGPU kernel method of an op so tools can compile it without running it
/// (<c>zoe ptx</c>, the CI's ptxas check). A generic kernel carries one attribute per
/// instantiation, listing its type arguments.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true, Inherited = false)]
public sealed class IlgpuKernelAttribute(params Type[] typeArguments) : Attribute
{
    /// <summary>The generic type arguments of this instantiation (empty for a non-generic kernel).</summary>
    public IReadOnlyList<Type> TypeArguments { get; } = typeArguments;
}
