namespace Zoetrope.Runtime.Ops;

/// <summary>An op as registered in the <see cref="OpCatalog"/>: its name, backends, cases and kernels.</summary>
public interface IOpInfo
{
    /// <summary>The op's name.</summary>
    string Name { get; }

    /// <summary>What it computes, in one line.</summary>
    string Summary { get; }

    /// <summary>The class that defines it.</summary>
    Type OpType { get; }

    /// <summary>Backends with an implementation (reference always included).</summary>
    IReadOnlyList<BackendKind> Backends { get; }

    /// <summary>The per-backend size caps of its case table.</summary>
    BackendCaps Caps { get; }

    /// <summary>The tolerance per output dtype of its case table.</summary>
    ToleranceTable Tolerances { get; }

    /// <summary>Its ILGPU kernels (for <c>zoe ptx</c>).</summary>
    IReadOnlyList<KernelEntry> Kernels { get; }

    /// <summary>The attributes its Bind reads.</summary>
    OpAttributes Attributes { get; }

    /// <summary>Its tensors (from the case table) and attributes: what <c>zoe ops</c> shows and <c>run-op</c> checks.</summary>
    OpContract Contract { get; }

    /// <summary>True when <paramref name="kind"/> has an implementation.</summary>
    bool Supports(BackendKind kind);

    /// <summary>The case table's rows as instances, with what each is for and the tolerance per output.</summary>
    IReadOnlyList<OpCaseInstance> Cases();

    /// <summary>An instance from user inputs and attributes (<c>zoe run-op</c>).</summary>
    OpInstance Bind(OpBinding binding);
}
