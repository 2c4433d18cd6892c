using Microsoft.CodeAnalysis;

namespace Zoetrope.Generators.Tests;

/// <summary>The op registry generator: its output for a sample op, and the compile errors it raises.</summary>
public class OpRegistryGeneratorTests
{
    private const string ValidOp = """
        using System.Linq;
        using Zoetrope.Runtime;
        using Zoetrope.Runtime.Ops;

        namespace Sample;

        [Op("scale", Cases = typeof(ScaleCases), Summary = "y = 2x")]
        public sealed partial class Scale : IOp<Scale.Params>
        {
            public readonly record struct Params(long N) : IOpParams { public string Label => $"n={N}"; }
            public static OpSignature Signature(Params p) => new OpSignature().In("x", DType.F32, new Shape(p.N)).Out("y", DType.F32, new Shape(p.N));
            public static OpCost Cost(Params p) => new(p.N, 8.0 * p.N);
            public static Params Bind(OpBinding b) => new(b.Input("x").ElementCount);
            public static OpAttributes Attributes => OpAttributes.None;
            public static OpAttributeValues AttributesOf(Params p) => new();
            public static void Reference(Params p, OpTensors t) => t.Write("y", t.Read("x").Select(v => 2 * v).ToArray());
            [RunsOn(BackendKind.IlgpuCpu, BackendKind.IlgpuCuda)]
            public static void Ilgpu(IlgpuBackend backend, Params p, OpTensors t) { }
            [RunsOn(BackendKind.Cuda)]
            public static void Native(CudaBackend backend, Params p, OpTensors t) { }
            [IlgpuKernel(typeof(float))]
            [IlgpuKernel(typeof(int))]
            public static void Kernel<T>(ILGPU.Index1D i, ILGPU.ArrayView<T> x) where T : unmanaged { }
        }

        public static class ScaleCases
        {
            public static OpCaseTable<Scale.Params> Table { get; } = new() { Cases = [new(new Scale.Params(3))], Tolerances = ToleranceTable.Rounding };
        }
        """;

    [Test]
    public void ValidOpGeneratesRegistrationThatCompiles()
    {
        var r = GeneratorHarness.Run(new OpRegistryGenerator(), ValidOp);
        Assert.That(r.GeneratorDiagnostics, Is.Empty);
        Assert.That(r.CompileDiagnostics, Is.Empty, string.Join("\n", r.CompileDiagnostics));
        Assert.That(r.Sources.Select(s => s.HintName), Is.EqualTo(new[] { "Zoetrope.Op.Sample.Scale.g.cs", "Zoetrope.OpRegistry.g.cs" }));
        Snapshot.Match("Op.Sample.Scale.g.cs.txt", r.Sources[0].Text);
        Snapshot.Match("OpRegistry.Sample.g.cs.txt", r.Sources[1].Text);
    }

    [Test]
    public void RegistryLoadsTheOpsOfReferencedAssemblies()
    {
        var r = GeneratorHarness.Run(new OpRegistryGenerator(), ValidOp);
        string registry = r.Sources.Single(s => s.HintName == "Zoetrope.OpRegistry.g.cs").Text;
        // The sample references Zoetrope.Runtime, whose generated registry carries [assembly: OpRegistry].
        Assert.That(registry, Does.Contain("OpCatalog.Register(global::Zoetrope.Generated.ZoetropeRuntimeOps.Ops)"));
        Assert.That(registry, Does.Contain("OpCatalog.Register(global::Zoetrope.Generated.SampleOpsOps.Ops)"));
    }

    private static IReadOnlyList<Diagnostic> Errors(string source) =>
        GeneratorHarness.Run(new OpRegistryGenerator(), source).GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).ToList();

    [Test]
    public void OpWithoutReferenceIsACompileError()
    {
        var errors = Errors(ValidOp.Replace("public static void Reference(", "public static void NotTheReference("));
        Assert.That(errors.Select(e => e.Id), Is.EqualTo(new[] { "ZT0001" }));
        Assert.That(errors[0].GetMessage(), Does.Contain("'scale'").And.Contain("Reference"));
        Assert.That(errors[0].Location.GetLineSpan().Path, Is.EqualTo("Sample.cs"));
    }

    [Test]
    public void OpWithoutCaseTableIsACompileError()
    {
        var errors = Errors(ValidOp.Replace("Cases = typeof(ScaleCases), ", string.Empty));
        Assert.That(errors.Select(e => e.Id), Is.EqualTo(new[] { "ZT0002" }));
        var wrongTable = Errors(ValidOp.Replace("Table { get; }", "Rows { get; }"));
        Assert.That(wrongTable.Select(e => e.Id), Is.EqualTo(new[] { "ZT0002" }));
        Assert.That(wrongTable[0].GetMessage(), Does.Contain("Table"));
    }

    [Test]
    public void NonPartialOrNonIOpClassIsACompileError()
    {
        Assert.That(Errors(ValidOp.Replace("public sealed partial class Scale", "public sealed class Scale")).Select(e => e.Id), Does.Contain("ZT0003"));
        Assert.That(Errors(ValidOp.Replace(" : IOp<Scale.Params>", string.Empty)).Select(e => e.Id), Is.EqualTo(new[] { "ZT0004" }));
    }

    [Test]
    public void BadBackendImplementationsAreCompileErrors()
    {
        var badShape = Errors(ValidOp.Replace("public static void Native(CudaBackend backend, Params p, OpTensors t)", "public static void Native(Params p, OpTensors t)"));
        Assert.That(badShape.Select(e => e.Id), Is.EqualTo(new[] { "ZT0005" }));
        var twice = Errors(ValidOp.Replace("[RunsOn(BackendKind.Cuda)]", "[RunsOn(BackendKind.Cuda, BackendKind.IlgpuCpu)]"));
        Assert.That(twice.Select(e => e.Id), Is.EqualTo(new[] { "ZT0006" }));
        var reference = Errors(ValidOp.Replace("[RunsOn(BackendKind.Cuda)]", "[RunsOn(BackendKind.Reference)]"));
        Assert.That(reference.Select(e => e.Id), Is.EqualTo(new[] { "ZT0007" }));
        var kernel = Errors(ValidOp.Replace("[IlgpuKernel(typeof(int))]", "[IlgpuKernel(typeof(int), typeof(long))]"));
        Assert.That(kernel.Select(e => e.Id), Is.EqualTo(new[] { "ZT0008" }));
    }
}
