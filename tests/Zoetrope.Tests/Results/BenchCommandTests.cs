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

    private static int Zoe(params string[] args) => Zoetrope.Cli.Program.Main(args);

    [Test]
    public void EveryOpIsInExactlyOneSuite()
    {
        _ = Zoetrope.Cli.Program.Main(["info"]); // loads every op assembly
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
        Assert.That(Zoe("profile", "--model", "micro", "--attention", "sage"), Is.EqualTo(2));
    }
}
