using Microsoft.CodeAnalysis;

namespace Zoetrope.Generators;

/// <summary>The diagnostics the generators report; every one is a compile error.</summary>
internal static class Diagnostics
{
    private const string Category = "Zoetrope";

    public static readonly DiagnosticDescriptor NoReference = new(
        "ZT0001", "Op has no reference implementation",
        "Op '{0}' ({1}) has no reference implementation: declare 'public static void Reference({2} p, OpTensors t)'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoCaseTable = new(
        "ZT0002", "Op has no case table",
        "Op '{0}' ({1}) has no case table: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NotPartial = new(
        "ZT0003", "Op class must be partial",
        "Op class {0} must be declared 'partial' so the generator can add its registration",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor NoIOp = new(
        "ZT0004", "Op class must implement IOp<TParams>",
        "Op class {0} must implement Zoetrope.Runtime.Ops.IOp<TParams> (signature, cost, bind)",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadImpl = new(
        "ZT0005", "Backend implementation has the wrong shape",
        "[RunsOn] method {0}.{1} must be 'static void {1}(Backend-or-subclass backend, {2} p, OpTensors t)'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor DuplicateImpl = new(
        "ZT0006", "Two implementations for one backend",
        "Op '{0}' has two implementations for backend {1}: {2} and {3}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor ReferenceViaRunsOn = new(
        "ZT0007", "The reference backend is the Reference method",
        "[RunsOn] on {0}.{1} names the reference backend; the reference implementation is the method named 'Reference'",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor BadKernel = new(
        "ZT0008", "ILGPU kernel attribute does not fit the method",
        "[IlgpuKernel] on {0}.{1}: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HeaderPointerWithoutTensor = new(
        "ZT0101", "Native pointer parameter has no @tensor annotation",
        "{0}: parameter '{1}' of {2} is a pointer without a '@tensor {1} ...' line in its doc comment",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HeaderUnknownType = new(
        "ZT0102", "Native parameter type is not supported",
        "{0}: parameter '{1}' of {2} has type '{3}', which the binding generator does not map",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static readonly DiagnosticDescriptor HeaderBadAnnotation = new(
        "ZT0103", "Native @tensor annotation is malformed",
        "{0}: {1}: {2}",
        Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
}
