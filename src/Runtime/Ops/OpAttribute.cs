namespace Zoetrope.Runtime.Ops;

/// <summary>
/// Marks a class as an op. The class must be <c>partial</c>, implement <see cref="IOp{TParams}"/>,
/// declare <c>public static void Reference(TParams p, OpTensors t)</c> and name its case table
/// with <see cref="Cases"/>; the generator (Zoetrope.Generators) reports a compile error
/// otherwise, and registers the op, with its <see cref="RunsOnAttribute"/> implementations,
/// in the <see cref="OpCatalog"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class OpAttribute(string name) : Attribute
{
    /// <summary>The op's name, the same on every backend and in every tool (snake_case).</summary>
    public string Name { get; } = name;

    /// <summary>A class with <c>public static OpCaseTable&lt;TParams&gt; Table { get; }</c>: the op's cases.</summary>
    public Type? Cases { get; set; }

    /// <summary>One line saying what the op computes.</summary>
    public string Summary { get; set; } = string.Empty;
}
