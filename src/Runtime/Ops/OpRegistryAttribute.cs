namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Written by the generator on every assembly that defines ops: names the generated class whose
/// <c>Ops</c> property lists them, so assemblies that reference it can load them into the
/// <see cref="OpCatalog"/> without reflection over types.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly, Inherited = false)]
public sealed class OpRegistryAttribute(Type registry) : Attribute
{
    /// <summary>The generated registry class.</summary>
    public Type Registry { get; } = registry;
}
