using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Zoetrope.Generators;

/// <summary>
/// Registers every <c>[Op]</c> class: emits its <c>Info</c> (an <c>OpInfo&lt;TParams&gt;</c>
/// with one implementation slot per backend, filled from its <c>[RunsOn]</c> methods), the
/// assembly's registry class, and a module initializer that loads this assembly's ops and those
/// of every referenced op assembly into the <c>OpCatalog</c>. No hand-kept switch over ops
/// exists anywhere: adding an op is adding its class.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class OpRegistryGenerator : IIncrementalGenerator
{
    private const string OpAttribute = "Zoetrope.Runtime.Ops.OpAttribute";
    private const string RunsOnAttribute = "Zoetrope.Runtime.Ops.RunsOnAttribute";
    private const string KernelAttribute = "Zoetrope.Runtime.Ops.IlgpuKernelAttribute";
    private const string RegistryAttribute = "Zoetrope.Runtime.Ops.OpRegistryAttribute";
    private const string BackendKind = "Zoetrope.Runtime.BackendKind";
    private const string BackendClass = "Zoetrope.Runtime.Backend";
    private const string OpTensors = "Zoetrope.Runtime.Ops.OpTensors";

    private static readonly SymbolDisplayFormat Fq = SymbolDisplayFormat.FullyQualifiedFormat;

    /// <inheritdoc />
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var ops = context.SyntaxProvider.ForAttributeWithMetadataName(
            OpAttribute,
            static (node, _) => node is ClassDeclarationSyntax,
            static (ctx, _) => Inspect(ctx));

        context.RegisterSourceOutput(ops, static (spc, result) =>
        {
            foreach (var d in result.Diagnostics)
            {
                spc.ReportDiagnostic(d.ToDiagnostic());
            }
            if (result.Op is { } op)
            {
                spc.AddSource($"Zoetrope.Op.{op.FullClassName.Replace("global::", string.Empty)}.g.cs", EmitOp(op));
            }
        });

        var assembly = context.CompilationProvider.Select(static (c, _) => DescribeAssembly(c));
        var all = ops.Collect().Combine(assembly);
        context.RegisterSourceOutput(all, static (spc, pair) =>
        {
            var (results, asm) = pair;
            if (!asm.HasCatalog)
            {
                return;
            }
            var models = results.Where(r => r.Op is not null).Select(r => r.Op!).OrderBy(o => o.OpName).ToList();
            spc.AddSource("Zoetrope.OpRegistry.g.cs", EmitRegistry(asm, models));
        });
    }

    private static AssemblyModel DescribeAssembly(Compilation c)
    {
        bool hasCatalog = c.GetTypeByMetadataName("Zoetrope.Runtime.Ops.OpCatalog") is not null;
        var registries = new List<string>();
        foreach (var asm in c.SourceModule.ReferencedAssemblySymbols)
        {
            foreach (var attr in asm.GetAttributes())
            {
                if (attr.AttributeClass?.ToDisplayString() == RegistryAttribute &&
                    attr.ConstructorArguments.Length == 1 &&
                    attr.ConstructorArguments[0].Value is ITypeSymbol registry)
                {
                    registries.Add(registry.ToDisplayString(Fq));
                }
            }
        }
        registries.Sort(System.StringComparer.Ordinal);
        return new AssemblyModel(c.AssemblyName ?? "Assembly", hasCatalog, new EquatableArray<string>(registries));
    }

    private static OpResult Inspect(GeneratorAttributeSyntaxContext ctx)
    {
        var cls = (INamedTypeSymbol)ctx.TargetSymbol;
        var syntax = (ClassDeclarationSyntax)ctx.TargetNode;
        var diagnostics = new List<DiagnosticInfo>();
        var location = syntax.Identifier.GetLocation();
        var attr = ctx.Attributes[0];
        string opName = attr.ConstructorArguments.Length > 0 ? attr.ConstructorArguments[0].Value as string ?? cls.Name : cls.Name;
        string summary = string.Empty;
        ITypeSymbol? casesType = null;
        foreach (var named in attr.NamedArguments)
        {
            if (named.Key == "Summary" && named.Value.Value is string s)
            {
                summary = s;
            }
            else if (named.Key == "Cases" && named.Value.Value is ITypeSymbol t)
            {
                casesType = t;
            }
        }
        string display = cls.ToDisplayString();

        if (!syntax.Modifiers.Any(m => m.Text == "partial") || cls.ContainingType is not null)
        {
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NotPartial, location, display));
        }

        var iop = cls.AllInterfaces.FirstOrDefault(i =>
            i.OriginalDefinition.ToDisplayString() == "Zoetrope.Runtime.Ops.IOp<TParams>");
        if (iop is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoIOp, location, display));
            return new OpResult(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }
        var paramsType = iop.TypeArguments[0];
        string paramsFq = paramsType.ToDisplayString(Fq);

        // The reference implementation: static void Reference(TParams, OpTensors).
        bool hasReference = cls.GetMembers("Reference").OfType<IMethodSymbol>().Any(m =>
            m.IsStatic && m.ReturnsVoid && m.Parameters.Length == 2 &&
            SymbolEqualityComparer.Default.Equals(m.Parameters[0].Type, paramsType) &&
            m.Parameters[1].Type.ToDisplayString() == OpTensors);
        if (!hasReference)
        {
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoReference, location, opName, display, paramsType.ToDisplayString()));
        }

        // The case table: [Op(Cases = typeof(X))] where X has static OpCaseTable<TParams> Table.
        if (casesType is null)
        {
            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoCaseTable, location, opName, display,
                "name one with [Op(\"" + opName + "\", Cases = typeof(...))]"));
        }
        else
        {
            bool hasTable = casesType.GetMembers("Table").OfType<IPropertySymbol>().Any(p =>
                p.IsStatic && p.Type is INamedTypeSymbol nt &&
                nt.OriginalDefinition.ToDisplayString() == "Zoetrope.Runtime.Ops.OpCaseTable<TParams>" &&
                SymbolEqualityComparer.Default.Equals(nt.TypeArguments[0], paramsType));
            if (!hasTable)
            {
                diagnostics.Add(DiagnosticInfo.Create(Diagnostics.NoCaseTable, location, opName, display,
                    $"{casesType.ToDisplayString()} must declare 'public static OpCaseTable<{paramsType.ToDisplayString()}> Table {{ get; }}'"));
            }
        }

        // Backend slots come from the BackendKind enum itself, so adding a backend changes no generator code.
        var slotNames = new List<string>();
        if (ctx.SemanticModel.Compilation.GetTypeByMetadataName(BackendKind) is { } kindEnum)
        {
            foreach (var f in kindEnum.GetMembers().OfType<IFieldSymbol>().Where(f => f.HasConstantValue).OrderBy(f => (int)f.ConstantValue!))
            {
                slotNames.Add(f.Name);
            }
        }
        int referenceSlot = slotNames.IndexOf("Reference");

        var impls = new List<ImplModel>();
        var claimed = new Dictionary<int, string>();
        var kernels = new List<KernelModel>();
        foreach (var method in cls.GetMembers().OfType<IMethodSymbol>())
        {
            foreach (var a in method.GetAttributes())
            {
                string? an = a.AttributeClass?.ToDisplayString();
                var mloc = method.Locations.FirstOrDefault();
                if (an == RunsOnAttribute)
                {
                    var slots = a.ConstructorArguments.Length == 1 && a.ConstructorArguments[0].Kind == TypedConstantKind.Array
                        ? a.ConstructorArguments[0].Values.Select(v => (int)v.Value!).ToList()
                        : new List<int>();
                    bool shapeOk = method.IsStatic && method.ReturnsVoid && method.Parameters.Length == 3 &&
                        DerivesFrom(method.Parameters[0].Type, BackendClass) &&
                        SymbolEqualityComparer.Default.Equals(method.Parameters[1].Type, paramsType) &&
                        method.Parameters[2].Type.ToDisplayString() == OpTensors;
                    if (!shapeOk)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BadImpl, mloc, display, method.Name, paramsType.ToDisplayString()));
                        continue;
                    }
                    foreach (var slot in slots)
                    {
                        if (slot == referenceSlot)
                        {
                            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.ReferenceViaRunsOn, mloc, display, method.Name));
                        }
                        else if (claimed.TryGetValue(slot, out var other))
                        {
                            string backend = slot < slotNames.Count ? slotNames[slot] : slot.ToString();
                            diagnostics.Add(DiagnosticInfo.Create(Diagnostics.DuplicateImpl, mloc, opName, backend, other, method.Name));
                        }
                        else
                        {
                            claimed[slot] = method.Name;
                        }
                    }
                    impls.Add(new ImplModel(method.Name, method.Parameters[0].Type.ToDisplayString(Fq), new EquatableArray<int>(slots)));
                }
                else if (an == KernelAttribute)
                {
                    var typeArgs = a.ConstructorArguments.Length == 1 && a.ConstructorArguments[0].Kind == TypedConstantKind.Array
                        ? a.ConstructorArguments[0].Values.Select(v => ((ITypeSymbol)v.Value!).ToDisplayString(Fq)).ToList()
                        : new List<string>();
                    if (!method.IsStatic)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BadKernel, mloc, display, method.Name, "kernels must be static methods"));
                    }
                    else if (typeArgs.Count != method.TypeParameters.Length)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BadKernel, mloc, display, method.Name,
                            $"the method has {method.TypeParameters.Length} type parameters, the attribute lists {typeArgs.Count} type arguments"));
                    }
                    else if (cls.GetMembers(method.Name).Length > 1)
                    {
                        diagnostics.Add(DiagnosticInfo.Create(Diagnostics.BadKernel, mloc, display, method.Name, "kernel methods must not be overloaded"));
                    }
                    else
                    {
                        kernels.Add(new KernelModel(method.Name, new EquatableArray<string>(typeArgs)));
                    }
                }
            }
        }

        if (diagnostics.Count > 0)
        {
            return new OpResult(null, new EquatableArray<DiagnosticInfo>(diagnostics));
        }

        var model = new OpModel(
            cls.ContainingNamespace.IsGlobalNamespace ? null : cls.ContainingNamespace.ToDisplayString(),
            cls.Name,
            cls.ToDisplayString(Fq),
            opName,
            summary,
            paramsFq,
            casesType!.ToDisplayString(Fq),
            new EquatableArray<string>(slotNames),
            new EquatableArray<ImplModel>(impls.OrderBy(i => i.Method)),
            new EquatableArray<KernelModel>(kernels));
        return new OpResult(model, default);
    }

    private static bool DerivesFrom(ITypeSymbol type, string baseName)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.ToDisplayString() == baseName)
            {
                return true;
            }
        }
        return false;
    }

    private static string EmitOp(OpModel op)
    {
        var sb = new StringBuilder();
        sb.AppendLine("// <auto-generated/>");
        sb.AppendLine($"// Generated by Zoetrope.Generators.OpRegistryGenerator from [Op(\"{op.OpName}\")] on {op.FullClassName.Replace("global::", string.Empty)}. Do not edit.");
        sb.AppendLine("#nullable enable");
        sb.AppendLine();
        string indent = string.Empty;
        if (op.Namespace is not null)
        {
            sb.AppendLine($"namespace {op.Namespace}");
            sb.AppendLine("{");
            indent = "    ";
        }
        string impl = $"global::Zoetrope.Runtime.Ops.OpImpl<{op.ParamsType}>";
        sb.AppendLine($"{indent}partial class {op.ClassName}");
        sb.AppendLine($"{indent}{{");
        sb.AppendLine($"{indent}    /// <summary>The registered form of op '{op.OpName}': signature, cost, one implementation slot per backend, cases, kernels.</summary>");
        sb.AppendLine($"{indent}    public static global::Zoetrope.Runtime.Ops.OpInfo<{op.ParamsType}> Info {{ get; }} = new(");
        sb.AppendLine($"{indent}        name: {Literal(op.OpName)},");
        sb.AppendLine($"{indent}        summary: {Literal(op.Summary)},");
        sb.AppendLine($"{indent}        opType: typeof({op.FullClassName}),");
        sb.AppendLine($"{indent}        signature: {op.FullClassName}.Signature,");
        sb.AppendLine($"{indent}        cost: {op.FullClassName}.Cost,");
        sb.AppendLine($"{indent}        bind: {op.FullClassName}.Bind,");
        sb.AppendLine($"{indent}        attributes: {op.FullClassName}.Attributes,");
        sb.AppendLine($"{indent}        attributesOf: {op.FullClassName}.AttributesOf,");
        sb.AppendLine($"{indent}        impls: new {impl}?[]");
        sb.AppendLine($"{indent}        {{");
        for (int slot = 0; slot < op.SlotNames.Count; slot++)
        {
            string name = op.SlotNames[slot];
            string entry;
            if (name == "Reference")
            {
                entry = $"static (b, p, t) => {op.FullClassName}.Reference(p, t)";
            }
            else
            {
                var m = op.Impls.FirstOrDefault(i => i.Slots.Contains(slot));
                entry = m is null ? "null" : $"static (b, p, t) => {op.FullClassName}.{m.Method}(({m.BackendType})b, p, t)";
            }
            sb.AppendLine($"{indent}            /* {name} */ {entry},");
        }
        sb.AppendLine($"{indent}        }},");
        sb.AppendLine($"{indent}        cases: static () => {op.CasesType}.Table,");
        sb.AppendLine($"{indent}        kernels: new global::Zoetrope.Runtime.Ops.KernelEntry[]");
        sb.AppendLine($"{indent}        {{");
        foreach (var k in op.Kernels)
        {
            var args = string.Concat(k.TypeArguments.Select(t => $", typeof({t})"));
            sb.AppendLine($"{indent}            new(typeof({op.FullClassName}), {Literal(k.Method)}{args}),");
        }
        sb.AppendLine($"{indent}        }});");
        sb.AppendLine($"{indent}}}");
        if (op.Namespace is not null)
        {
            sb.AppendLine("}");
        }
        return sb.ToString();
    }

    private static string EmitRegistry(AssemblyModel asm, List<OpModel> ops)
    {
        string className = RegistryClassName(asm.AssemblyName);
        var sb = new StringBuilder();
        sb.AppendLine("// <auto-generated/>");
        sb.AppendLine($"// Generated by Zoetrope.Generators.OpRegistryGenerator for assembly {asm.AssemblyName}. Do not edit.");
        sb.AppendLine("#nullable enable");
        sb.AppendLine("#pragma warning disable CA2255 // module initializers are how generated registries load");
        sb.AppendLine();
        if (ops.Count > 0)
        {
            sb.AppendLine($"[assembly: global::Zoetrope.Runtime.Ops.OpRegistry(typeof(global::Zoetrope.Generated.{className}))]");
            sb.AppendLine();
        }
        sb.AppendLine("namespace Zoetrope.Generated");
        sb.AppendLine("{");
        if (ops.Count > 0)
        {
            sb.AppendLine($"    /// <summary>The ops defined in assembly {asm.AssemblyName}.</summary>");
            sb.AppendLine($"    public static class {className}");
            sb.AppendLine("    {");
            sb.AppendLine("        /// <summary>Every op of this assembly, by name order.</summary>");
            sb.AppendLine("        public static global::System.Collections.Generic.IReadOnlyList<global::Zoetrope.Runtime.Ops.IOpInfo> Ops { get; } =");
            sb.AppendLine("            new global::Zoetrope.Runtime.Ops.IOpInfo[]");
            sb.AppendLine("            {");
            foreach (var op in ops)
            {
                sb.AppendLine($"                {op.FullClassName}.Info,");
            }
            sb.AppendLine("            };");
            sb.AppendLine("    }");
            sb.AppendLine();
        }
        sb.AppendLine("    internal static class OpCatalogLoader");
        sb.AppendLine("    {");
        sb.AppendLine("        [global::System.Runtime.CompilerServices.ModuleInitializer]");
        sb.AppendLine("        internal static void Load()");
        sb.AppendLine("        {");
        if (ops.Count > 0)
        {
            sb.AppendLine($"            global::Zoetrope.Runtime.Ops.OpCatalog.Register(global::Zoetrope.Generated.{className}.Ops);");
        }
        foreach (var reg in asm.ReferencedRegistries)
        {
            sb.AppendLine($"            global::Zoetrope.Runtime.Ops.OpCatalog.Register({reg}.Ops);");
        }
        sb.AppendLine("        }");
        sb.AppendLine("    }");
        sb.AppendLine("}");
        return sb.ToString();
    }

    internal static string RegistryClassName(string assemblyName)
    {
        var sb = new StringBuilder();
        bool upper = true;
        foreach (char c in assemblyName)
        {
            if (char.IsLetterOrDigit(c))
            {
                sb.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }
            else
            {
                upper = true;
            }
        }
        sb.Append("Ops");
        return sb.ToString();
    }

    internal static string Literal(string s) =>
        "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n").Replace("\r", string.Empty) + "\"";
}
