// The device kit's pieces that run without a GPU: a benchmark saves its rows as they land (a step
// killed at its time limit keeps them), and bench/device/merge_results.py folds the per-suite
// results of one run into one file that this project's strict reader accepts. (pack.sh and a
// no-GPU run of run.sh are exercised by .ci/run itself.)
using System.Diagnostics;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Results;

[TestFixture]
[NonParallelizable]
public sealed class DeviceKitTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-kit");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    [Test]
    public void ABenchmarkSavesEveryRowAsItLands()
    {
        string path = _tmp.File("partial.json");
        var saved = new List<int>();
        var options = new BenchOptions { Backend = Backends.Get(BackendKind.Reference), Ops = ["rms_norm", "axpby"], MaxCasesPerOp = 2, Repeat = 2, Warmup = 0, CheckError = false };
        var report = BenchRunner.Run(options, snapshot: partial =>
        {
            BenchReportJson.Write(path, partial);
            saved.Add(BenchReportJson.Read(path).Cases.Count);
        });
        Assert.That(report.Cases, Has.Count.EqualTo(4));
        Assert.That(saved, Is.EqualTo(new[] { 1, 2, 3, 4 }), "the file holds every row measured so far, after each row");
        Assert.That(File.Exists(path + ".tmp"), Is.False, "writes go through a temporary file renamed into place");
        var last = BenchReportJson.Read(path);
        Assert.That(last.Cases.Select(c => c.Shape), Is.EqualTo(report.Cases.Select(c => c.Shape)));
    }

    [Test]
    public void MergeFoldsOneRunsSuitesIntoOneResult()
    {
        string? python = ToolOnPath.Find("python3");
        Assume.That(python, Is.Not.Null, "python3 runs merge_results.py (CI and the GPU machines have it)");
        var sample = BenchReportJson.Read(Directory.EnumerateFiles(ResultSamples.Folder, "*-reference.json").Single());
        int half = sample.Cases.Count / 2;
        // Two suites of one run: the same header, ceilings measured twice (noise), rows split.
        var a = sample with { Cases = sample.Cases.Take(half).ToArray() };
        var b = sample with
        {
            Ceilings = sample.Ceilings with { CopyGbps = sample.Ceilings.CopyGbps * 1.5, GemmTflops = sample.Ceilings.GemmTflops * 0.5 },
            Cases = sample.Cases.Skip(half).ToArray(),
        };
        string fa = _tmp.File("zoe-a.json"), fb = _tmp.File("zoe-b.json"), merged = _tmp.File("zoe.json");
        BenchReportJson.Write(fa, a);
        BenchReportJson.Write(fb, b);

        var (rc, output) = Run(python!, Merger, merged, fa, fb);
        Assert.That(rc, Is.Zero, output);
        var m = BenchReportJson.Read(merged);
        Assert.That(m.Cases, Has.Count.EqualTo(sample.Cases.Count));
        Assert.That(m.Cases.Select(c => (c.Op, c.Shape, c.Backend)), Is.EqualTo(sample.Cases.Select(c => (c.Op, c.Shape, c.Backend))), "rows keep their order");
        Assert.That(m.Ceilings.CopyGbps, Is.EqualTo(b.Ceilings.CopyGbps), "each ceiling is the larger of the two");
        Assert.That(m.Ceilings.GemmTflops, Is.EqualTo(a.Ceilings.GemmTflops));
        foreach (var c in m.Cases.Where(c => c.FractionOfCeiling is not null))
        {
            double want = Math.Max(c.Tflops / m.Ceilings.GemmTflops, c.Gbps / m.Ceilings.CopyGbps);
            Assert.That(c.FractionOfCeiling, Is.EqualTo(want).Within(1e-12), $"{c.Op} {c.Shape}: fraction against the merged ceilings");
        }
    }

    [Test]
    public void MergeRefusesResultsOfDifferentDevices()
    {
        string? python = ToolOnPath.Find("python3");
        Assume.That(python, Is.Not.Null, "python3 runs merge_results.py");
        var files = Directory.EnumerateFiles(ResultSamples.Folder, "*.json").Order().ToArray();
        var (rc, output) = Run(python!, Merger, _tmp.File("zoe.json"), files[0], files[1]);
        Assert.That(rc, Is.Not.Zero);
        Assert.That(output, Does.Contain("device").And.Contain("not one run"));
        Assert.That(File.Exists(_tmp.File("zoe.json")), Is.False, "nothing is written");
    }

    private static string Merger => Path.Combine(Path.GetDirectoryName(ResultSamples.Folder)!, "..", "device", "merge_results.py");

    private static (int Rc, string Output) Run(string exe, params string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        string stdout = p.StandardOutput.ReadToEnd(), stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout + stderr);
    }
}
