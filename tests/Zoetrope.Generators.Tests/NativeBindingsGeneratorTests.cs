using Microsoft.CodeAnalysis;

namespace Zoetrope.Generators.Tests;

/// <summary>The native bindings generator on the real header, and its errors on malformed ones.</summary>
public class NativeBindingsGeneratorTests
{
    private static string RealHeader() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Headers", "zoetrope.h"));

    [Test]
    public void RealHeaderGeneratesBindingsThatCompile()
    {
        var r = GeneratorHarness.Run(new NativeBindingsGenerator(), "namespace Sample { }", ("/repo/native/include/zoetrope.h", RealHeader()));
        Assert.That(r.GeneratorDiagnostics, Is.Empty);
        // That this text compiles is proven by Zoetrope.Runtime itself, which is built from it;
        // here the point is its shape, pinned by the snapshot.
        Assert.That(r.Sources, Has.Count.EqualTo(1));
        string text = r.Sources[0].Text;
        Assert.That(text, Does.Contain("public static void Axpby(global::Zoetrope.Runtime.CudaBackend backend, global::Zoetrope.Runtime.DType dtype, long n, float a, global::Zoetrope.Runtime.Tensor x"));
        Assert.That(text, Does.Contain("NativeChecks.Tensor(\"zt_softmax_rows\", \"y\", y, backend, dtype, new global::Zoetrope.Runtime.Shape((long)rows, (long)cols))"));
        Assert.That(text, Does.Contain("NativeChecks.Status(\"zt_axpby\", status)"));
        Snapshot.Match("NativeBindings.zoetrope_h.g.cs.txt", text);
    }

    private static IReadOnlyList<Diagnostic> Errors(string header) =>
        GeneratorHarness.Run(new NativeBindingsGenerator(), "namespace Sample { }", ("/repo/native/include/bad.h", header)).GeneratorDiagnostics;

    [Test]
    public void PointerWithoutTensorAnnotationIsACompileError()
    {
        var errors = Errors("""
            /** Copies. */
            ZT_API zt_status zt_copy(zt_stream stream, int64_t n, const void* x, void* y);
            """);
        Assert.That(errors.Select(e => e.Id), Is.EqualTo(new[] { "ZT0101", "ZT0101" }));
        Assert.That(errors[0].GetMessage(), Does.Contain("'x'").And.Contain("zt_copy").And.Contain("bad.h(2)"));
    }

    [Test]
    public void UnknownTypeOrShapeIsACompileError()
    {
        var unknownType = Errors("ZT_API zt_status zt_f(zt_stream s, size_t n);");
        Assert.That(unknownType.Single().Id, Is.EqualTo("ZT0102"));
        var badShape = Errors("""
            /** f.
             * @tensor x in dtype(f32) shape(m)
             */
            ZT_API zt_status zt_f(zt_stream s, int64_t n, const void* x);
            """);
        Assert.That(badShape.Single().Id, Is.EqualTo("ZT0103"));
        Assert.That(badShape.Single().GetMessage(), Does.Contain("'m'"));
        var badLine = Errors("""
            /** f.
             * @tensor x sideways
             */
            ZT_API zt_status zt_f(zt_stream s, const void* x);
            """);
        Assert.That(badLine.Select(e => e.Id), Does.Contain("ZT0103"));
    }

    [Test]
    public void FixedDtypesAndLiteralExtentsAreChecked()
    {
        var r = GeneratorHarness.Run(new NativeBindingsGenerator(), "namespace Sample { }", ("/repo/native/include/q.h", """
            /** Quantize rows.
             * @tensor x in dtype(bf16) shape(rows, 128)
             * @tensor q out dtype(i8) shape(rows, 128)
             */
            ZT_API zt_status zt_quant(zt_stream stream, int32_t rows, const void* x, void* q);
            """));
        Assert.That(r.GeneratorDiagnostics, Is.Empty);
        Assert.That(r.Sources.Single().Text, Does.Contain("DTypes.Parse(\"i8\"), new global::Zoetrope.Runtime.Shape((long)rows, 128L)"));
    }

    [Test]
    public void OptionalTensorsMayBeNull()
    {
        var r = GeneratorHarness.Run(new NativeBindingsGenerator(), "namespace Sample { }", ("/repo/native/include/n.h", """
            /** Norm.
             * @tensor x in dtype(dtype) shape(rows, dim)
             * @tensor bias in dtype(dtype) shape(dim) optional
             */
            ZT_API zt_status zt_n(zt_stream stream, zt_dtype dtype, int64_t rows, int32_t dim, const void* x, const void* bias);
            """));
        Assert.That(r.GeneratorDiagnostics, Is.Empty);
        string text = r.Sources.Single().Text;
        Assert.That(text, Does.Contain("global::Zoetrope.Runtime.Tensor? bias"));
        Assert.That(text, Does.Contain("if (bias is not null)"));
        Assert.That(text, Does.Contain("bias is null ? 0 : backend.DevicePointer(bias)"));
    }
}
