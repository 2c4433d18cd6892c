using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;

namespace Zoetrope.Generators.Tests;

/// <summary>Runs a generator over in-memory sources and headers, as the compiler would.</summary>
internal static class GeneratorHarness
{
    public sealed record Result(
        IReadOnlyList<(string HintName, string Text)> Sources,
        ImmutableArray<Diagnostic> GeneratorDiagnostics,
        ImmutableArray<Diagnostic> CompileDiagnostics);

    public static Result Run(IIncrementalGenerator generator, string source, params (string Path, string Text)[] headers)
    {
        var compilation = CSharpCompilation.Create(
            "Sample.Ops",
            [CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Preview), path: "Sample.cs")],
            References(),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        GeneratorDriver driver = CSharpGeneratorDriver.Create(
            [generator.AsSourceGenerator()],
            headers.Select(h => (AdditionalText)new InMemoryText(h.Path, h.Text)),
            new CSharpParseOptions(LanguageVersion.Preview));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        var run = driver.GetRunResult();
        var sources = run.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(s => s.HintName).ToList();
        var compile = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToImmutableArray();
        return new Result(sources, generatorDiagnostics, compile);
    }

    private static IEnumerable<MetadataReference> References()
    {
        var tpa = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        foreach (var path in tpa)
        {
            yield return MetadataReference.CreateFromFile(path);
        }
        yield return MetadataReference.CreateFromFile(typeof(Zoetrope.Runtime.Tensor).Assembly.Location);
        yield return MetadataReference.CreateFromFile(typeof(ILGPU.Context).Assembly.Location);
    }

    private sealed class InMemoryText(string path, string text) : AdditionalText
    {
        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(text);
    }
}
