using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Zoetrope.Generators;

/// <summary>A source location that compares by value (Roslyn's Location does not survive caching well).</summary>
internal sealed record LocationInfo(string Path, TextSpan Span, LinePositionSpan Lines)
{
    public static LocationInfo? From(Location? location) =>
        location is null || location.SourceTree is null
            ? null
            : new LocationInfo(location.SourceTree.FilePath, location.SourceSpan, location.GetLineSpan().Span);

    public Location ToLocation() => Location.Create(Path, Span, Lines);
}

/// <summary>A diagnostic to report later, by value.</summary>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo? Location, EquatableArray<string> Args)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor d, Location? location, params string[] args) =>
        new(d, LocationInfo.From(location), new EquatableArray<string>(args));

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location?.ToLocation() ?? Microsoft.CodeAnalysis.Location.None, Args is { Count: > 0 } a ? ToObjects(a) : Array.Empty<object>());

    private static object[] ToObjects(EquatableArray<string> a)
    {
        var o = new object[a.Count];
        for (int i = 0; i < a.Count; i++)
        {
            o[i] = a[i];
        }
        return o;
    }
}

/// <summary>One [RunsOn] method: its name, the backend type its first parameter asks for, the backend slots it fills.</summary>
internal sealed record ImplModel(string Method, string BackendType, EquatableArray<int> Slots);

/// <summary>One [IlgpuKernel] instantiation.</summary>
internal sealed record KernelModel(string Method, EquatableArray<string> TypeArguments);

/// <summary>Everything the registry needs about one op class.</summary>
internal sealed record OpModel(
    string? Namespace,
    string ClassName,
    string FullClassName,
    string OpName,
    string Summary,
    string ParamsType,
    string CasesType,
    EquatableArray<string> SlotNames,
    EquatableArray<ImplModel> Impls,
    EquatableArray<KernelModel> Kernels);

/// <summary>The outcome of inspecting one [Op] class: a model to emit, or diagnostics, or both.</summary>
internal sealed record OpResult(OpModel? Op, EquatableArray<DiagnosticInfo> Diagnostics);

/// <summary>What the registry needs about the compilation as a whole.</summary>
internal sealed record AssemblyModel(string AssemblyName, bool HasCatalog, EquatableArray<string> ReferencedRegistries);
