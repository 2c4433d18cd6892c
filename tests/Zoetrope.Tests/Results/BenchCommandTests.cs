// zoe bench / compare / profile in-process: the CI-sized smoke run of every suite on ilgpu-cpu
// (under two minutes, the result file valid), compare writing Markdown and plots, and every
// registered op belonging to exactly one suite (so a new op cannot miss its benchmark).
using System.Diagnostics;
using NUnit.Framework;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Results;

[TestFixture]
[NonParallelizable]
public sealed class BenchCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-bench");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static int Zoe(params string[] args) => Zoetrope.Tests.Cli.Zoe.Exit(args);

    [Test]
    public void EveryOpIsInExactlyOneSuite()
    {
        _ = Zoetrope.Tests.Cli.Zoe.Exit("info"); // loads every op assembly
        var all = BenchSuites.Ops("all");
        Assert.That(all, Is.Unique);
        Assert.That(OpCatalog.All.Select(o => o.Name).Order(), Is.EqualTo(all.Order()));
        Assert.Throws<ArgumentException>(() => BenchSuites.Ops("nope"));
    }

    [Test]
    public void SmokeRunOfEverySuiteOnIlgpuCpuUnderTwoMinutes()
    {
        string output = _tmp.File("smoke.json");
        var clock = Stopwatch.StartNew();
        Assert.That(Zoe("bench", "--suite", "all", "--backend", "ilgpu-cpu", "--max-cases", "1", "--repeat", "2", "--warmup", "0", "--no-check", "--out", output), Is.Zero);
        clock.Stop();
        TestContext.Out.WriteLine($"smoke run: {clock.Elapsed.TotalSeconds:0.0} s");
        Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(120));
        var report = BenchReportJson.Read(output);
        Assert.That(report.Cases.Select(c => c.Op).Distinct().Order(), Is.EqualTo(BenchSuites.Ops("all").Append("stream").Order()));
        Assert.That(report.Cases.Count(c => c.Op == "stream"), Is.EqualTo(3));
        Assert.That(report.Cases.All(c => c.Backend == "ilgpu-cpu" && c.Iterations == c.SamplesMs.Count && c.MedianMs > 0));
        Assert.That(report.Cases.Where(c => c.FractionOfCeiling is not null).All(c => c.FractionOfCeiling <= 1 + 1e-12));
    }

    [Test]
    public void BenchWithTheReferenceCheckFillsTheErrorColumn()
    {
        string output = _tmp.File("norm.json");
        Assert.That(Zoe("bench", "--suite", "norm", "--backend", "ilgpu-cpu", "--max-cases", "2", "--repeat", "3", "--warmup", "1", "--out", output), Is.Zero);
        var report = BenchReportJson.Read(output);
        Assert.That(report.Cases, Has.Count.EqualTo(10));
        Assert.That(report.Cases.All(c => c.ErrorVsReference is < 1e-2), "ILGPU agrees with the reference");
        Assert.That(report.Cases.All(c => c.Tensors is { Count: > 0 }), "rows carry their tensor shapes for the peers");
    }

    [Test]
    public void CompareWritesMarkdownAndAPlotPerOp()
    {
        string samples = ResultSamples.Folder;
        string outDir = _tmp.File("cmp");
        var files = Directory.EnumerateFiles(samples, "*.json").Order().ToArray();
        Assert.That(Zoe(["compare", .. files, "--baseline", files[^1], "--out", outDir]), Is.Zero);
        string md = File.ReadAllText(Path.Combine(outDir, "compare.md"));
        Assert.That(md, Does.Contain("## rms_norm").And.Contain("/ reference").And.Contain("/ ilgpu-cpu"));
        var png = File.ReadAllBytes(Path.Combine(outDir, "rms_norm.png"));
        Assert.That(png[..4], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }));
        string bad = _tmp.File("bad.json");
        File.WriteAllText(bad, "{\"schema\": \"zoetrope.bench/1\"}");
        Assert.That(Zoe("compare", bad, "--out", outDir), Is.EqualTo(2), "an incomplete file is a typed error");
    }

    [Test]
    public void ProfilePrintsThePerOpBreakdown()
    {
        Assert.That(Zoe("profile", "--model", "micro", "--blocks", "1", "--backend", "reference"), Is.Zero);
        Assert.That(Zoe("profile", "--model", "micro", "--attention", "dense", "--kv", "int8"), Is.EqualTo(2));
    }

    // Issue 16, finding 8: every argument is checked before the ceilings are measured, in the
    // wording every verb shares (CliArgs); nothing of the run is printed before the error.
    [TestCase(new[] { "--suite", "core", "--warmup", "-1" }, "--warmup -1: must be 0 or more")]
    [TestCase(new[] { "--suite", "core", "--repeat", "0" }, "--repeat 0: must be 1 or more")]
    [TestCase(new[] { "--suite", "core", "--max-cases", "-1" }, "--max-cases -1: must be 0 or more")]
    [TestCase(new[] { "--suite", "core,nope" }, "--suite nope: unknown; suites: core, norm, rope, quant, gemm, attention, sparse, decode, stream, all")]
    [TestCase(new[] { "--suite", "core", "--use", "nope" }, "--use nope: expected check, bench or emulator")]
    public void BenchArgumentsAreRefusedBeforeAnyWork(string[] args, string message)
    {
        var run = Zoetrope.Tests.Cli.Zoe.Run(["bench", "--backend", "ilgpu-cpu", .. args]);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain($"error: {message}"), run.ToString());
        Assert.That(run.Out, Does.Not.Contain("zoe bench on").And.Not.Contain("ceilings"), run.ToString());
    }

    [Test]
    public void BenchOutIsCheckedBeforeAnyWork()
    {
        // A folder as --out, and a file where --out needs a folder: refused up front naming --out,
        // where the old code measured the ceilings and a row and then failed naming its .tmp file.
        string blocker = _tmp.File("a-file");
        File.WriteAllText(blocker, "x");
        foreach (var (output, message) in new[] { (_tmp.Path, "is a directory"), (Path.Combine(blocker, "sub", "r.json"), "cannot write into") })
        {
            var clock = Stopwatch.StartNew();
            var run = Zoetrope.Tests.Cli.Zoe.Run("bench", "--suite", "core", "--backend", "ilgpu-cpu", "--max-cases", "1", "--repeat", "1", "--warmup", "0", "--out", output);
            Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
            Assert.That(run.Err, Does.Contain($"error: --out {output}: {message}"), run.ToString());
            Assert.That(run.Err, Does.Not.Contain(".tmp"), run.ToString());
            Assert.That(run.Out, Does.Not.Contain("zoe bench on"), run.ToString());
            Assert.That(clock.Elapsed.TotalSeconds, Is.LessThan(5), "refused before the ceilings");
        }
        // A missing folder is created (the one rule for every verb's --out).
        string nested = Path.Combine(_tmp.Path, "new", "deeper", "r.json");
        Assert.That(Zoe("bench", "--suite", "core", "--backend", "ilgpu-cpu", "--max-cases", "1", "--repeat", "1", "--warmup", "0", "--no-check", "--out", nested), Is.Zero);
        Assert.That(BenchReportJson.Read(nested).Cases, Is.Not.Empty);
    }

    [Test]
    public void BenchRowsHaveOneFormatPerColumnAndTheFooterPromisesOnlyWhatIsWritten()
    {
        // Issue 16, finding 10: "median ms" printed 44.434 beside 0.002, TFLOP/s 6.752E-11 beside
        // 12.35; the header said "Check rows" (the enum, not the --use spelling); and without --out
        // the footer said every fraction is "in the JSON" when no file was written.
        var run = Zoetrope.Tests.Cli.Zoe.Run("bench", "--suite", "core", "--backend", "ilgpu-cpu", "--max-cases", "2", "--repeat", "1", "--warmup", "0");
        Assert.That(run.Exit, Is.Zero, run.ToString());
        Assert.That(run.Out, Does.Contain(", check rows,"), run.ToString());
        var rows = run.Out.Split('\n').Where(l => l.StartsWith("axpby ", StringComparison.Ordinal) || l.StartsWith("softmax ", StringComparison.Ordinal)).ToArray();
        Assert.That(rows, Has.Length.EqualTo(4), run.ToString());
        foreach (var line in rows)
        {
            // op (24) + case (64), then median, p90, TFLOP/s, GB/s, err.
            var cells = line[90..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(cells, Has.Length.EqualTo(5), line);
            foreach (var cell in cells[..4])
            {
                Assert.That(BenchComparisonTests.SignificantDigits(cell), Is.EqualTo(3), $"'{cell}' in: {line}");
                Assert.That(cell, Does.Not.Contain("E"), $"one exponent style: '{cell}' in: {line}");
            }
            Assert.That(cells[4], Does.Match(@"^(-|\d\.\de[+-]\d+)$"), line);
        }
        Assert.That(run.Out, Does.Not.Contain("in the JSON"), run.ToString());
        Assert.That(run.Out, Does.Contain("--out"), "says how to keep every row's fraction");
        Assert.That(run.Out, Does.Not.Contain("E-0"), "the ceilings line uses the rows' format");
    }

    [Test]
    public void TheCommitIsTheSourceHashWrittenWithoutEscapes()
    {
        // Issue 16, finding 10: outside a git work tree (the device kit, a copied zoe) the commit
        // was the informational version, "0.1.0\u002B387f2af…". It is the hash of the build.
        string output = _tmp.File("r.json");
        string cwd = Environment.CurrentDirectory;
        Zoetrope.Tests.Cli.ZoeRun run;
        try
        {
            Environment.CurrentDirectory = _tmp.Path; // no git work tree here
            run = Zoetrope.Tests.Cli.Zoe.Run("bench", "--suite", "core", "--backend", "ilgpu-cpu", "--max-cases", "1", "--repeat", "1", "--warmup", "0", "--no-check", "--out", output);
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
        string text = File.ReadAllText(output);
        Assert.That(text, Does.Not.Contain("\\u002B"), run.ToString());
        var report = BenchReportJson.Read(output);
        Assert.That(report.Commit, Does.Match("^([0-9a-f]{7,40}|unknown)$"), run.ToString());
        Assert.That(run.Out, Does.Contain($"every row's fraction is in {output}"), run.ToString());
    }

    [Test]
    public void BenchRefusesWhatDoesNotFitBeforeTheCeilings()
    {
        // The largest case row of the chosen suites against the limit, before a minute of ceilings.
        var r = Zoetrope.Tests.Cli.StreamCommandTests.WithMemoryLimit("4KiB", "bench", "--suite", "core", "--backend", "reference", "--repeat", "1", "--warmup", "0");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Out, Does.Contain("memory estimate: the largest case row"));
        Assert.That(r.Err, Does.Contain("needs about").And.Contain("set by ZOE_MEMORY_LIMIT").And.Contain("--force"));
        Assert.That(r.Out, Does.Not.Contain("ceilings:"));
        // The stream suite: the model it streams, by part.
        r = Zoetrope.Tests.Cli.StreamCommandTests.WithMemoryLimit("1MiB", "bench", "--suite", "stream", "--backend", "reference", "--repeat", "1", "--warmup", "0");
        Assert.That(r.Exit, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("zoe bench --suite stream on reference needs about").And.Contain("KV pool"));
    }
}
