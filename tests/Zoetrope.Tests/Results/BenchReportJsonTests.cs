// The results format: a round trip keeps every field, and a file that is not a complete
// zoetrope.bench/1 result is refused with the file, the byte offset and the JSON path.
using System.Text.Json.Nodes;
using NUnit.Framework;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Results;

[TestFixture]
public sealed class BenchReportJsonTests
{
    private static BenchReport Sample() => new(
        BenchReportJson.SchemaVersion, "abc1234", "2026-12-01T10:00:00Z",
        new BenchDevice("NVIDIA H200", "sm_90", 132, 150_000_000_000, "12.8", "sm 1980 MHz"),
        new BenchRuntime("10.0.1", "1.5.3", "12.8"),
        new BenchCeilings(3000.5, 790.25, "linear bf16 M=8192 N=8192 K=8192"),
        [
            new BenchCase("attention", "cuda", "B=1 H=2 Nq=64 Nkv=64 D=64 HND none", "bf16", 3, 1.5, 1.25, 2, 100, 50, 0.125, 1e-3, null, [1.5, 1.25, 2],
                new Dictionary<string, IReadOnlyList<long>> { ["q"] = [1, 2, 64, 64] }),
            new BenchCase("attention", "torch", "B=1 H=2 Nq=64 Nkv=64 D=64 HND none", "bf16", 2, 2, 2, 2, 75, 37.5, null, null, "sdpa", [2, 2]),
        ]);

    [Test]
    public void RoundTripsEveryField()
    {
        var report = Sample();
        var back = BenchReportJson.Parse(BenchReportJson.Serialize(report), "mem");
        Assert.That(back.Schema, Is.EqualTo("zoetrope.bench/1"));
        Assert.That(back.Device, Is.EqualTo(report.Device));
        Assert.That(back.Runtime, Is.EqualTo(report.Runtime));
        Assert.That(back.Ceilings, Is.EqualTo(report.Ceilings));
        Assert.That(back.Cases, Has.Count.EqualTo(2));
        var a = back.Cases[0];
        Assert.That((a.Op, a.Backend, a.Shape, a.Dtype, a.Iterations, a.MedianMs, a.MinMs, a.P90Ms, a.Tflops, a.Gbps, a.FractionOfCeiling, a.ErrorVsReference, a.Peer),
            Is.EqualTo(("attention", "cuda", "B=1 H=2 Nq=64 Nkv=64 D=64 HND none", "bf16", 3, 1.5, 1.25, 2.0, 100.0, 50.0, (double?)0.125, (double?)1e-3, (string?)null)));
        Assert.That(a.SamplesMs, Is.EqualTo(new[] { 1.5, 1.25, 2 }));
        Assert.That(a.Tensors!["q"], Is.EqualTo(new long[] { 1, 2, 64, 64 }));
        Assert.That(back.Cases[1].Peer, Is.EqualTo("sdpa"));
        Assert.That(BenchReportJson.Serialize(report), Does.Contain("\"median_ms\"").And.Contain("\"error_vs_reference\""));
    }

    [Test]
    public void AnotherSchemaVersionIsRefused()
    {
        string json = BenchReportJson.Serialize(Sample() with { Schema = "zoetrope.bench/0" });
        var e = Assert.Throws<ZoetropeFormatException>(() => BenchReportJson.Parse(json, "old.json"))!;
        Assert.That(e.Message, Does.Contain("old.json").And.Contain("zoetrope.bench/0").And.Contain("zoetrope.bench/1"));
    }

    [TestCase("median_ms")]
    [TestCase("commit")]
    [TestCase("ceilings")]
    [TestCase("samples_ms")]
    public void AMissingFieldIsNamedWithItsOffset(string field)
    {
        var node = JsonNode.Parse(BenchReportJson.Serialize(Sample()))!.AsObject();
        var owner = node.ContainsKey(field) ? node : node["cases"]![0]!.AsObject();
        Assert.That(owner.Remove(field), field);
        var e = Assert.Throws<ZoetropeFormatException>(() => BenchReportJson.Parse(node.ToJsonString(), "cut.json"))!;
        Assert.That(e.Message, Does.Contain("cut.json").And.Contain(field));
        Assert.That(e.Offset, Is.GreaterThan(0));
    }

    [Test]
    public void TruncatedJsonIsRefusedWithTheOffset()
    {
        string json = BenchReportJson.Serialize(Sample());
        var e = Assert.Throws<ZoetropeFormatException>(() => BenchReportJson.Parse(json[..(json.Length / 2)], "half.json"))!;
        Assert.That(e.File, Is.EqualTo("half.json"));
        Assert.That(e.Offset, Is.InRange(1, json.Length / 2 + 1));
    }

    [Test]
    public void SamplesMustMatchIterations()
    {
        var report = Sample();
        var bad = report with { Cases = [report.Cases[0] with { Iterations = 5 }] };
        var e = Assert.Throws<ZoetropeFormatException>(() => BenchReportJson.Parse(BenchReportJson.Serialize(bad), "n.json"))!;
        Assert.That(e.Message, Does.Contain("iterations 5 but 3 samples"));
    }

    [Test]
    public void TimingStatisticsAreNumpyPercentiles()
    {
        var stats = TimingStats.From([5.0, 1, 4, 2, 3]);
        Assert.That(stats.MedianMs, Is.EqualTo(3));
        Assert.That(stats.MinMs, Is.EqualTo(1));
        Assert.That(stats.P90Ms, Is.EqualTo(4.6).Within(1e-12)); // numpy.percentile([1..5], 90) = 4.6
        Assert.That(stats.SamplesMs, Is.EqualTo(new[] { 5.0, 1, 4, 2, 3 }), "samples kept in run order");
        Assert.That(Statistics.Percentile([10.0, 20], 25), Is.EqualTo(12.5));
    }

    [Test]
    public void TextIsWrittenAsItReadsWithoutEscapes()
    {
        // Finding 10 of issue 16: the commit read "0.1.0\u002B387f2af…" on disk. A '+' or '<' in a
        // device or case label is plain text in a results file meant to be read and diffed.
        var report = Sample() with { Device = Sample().Device with { Name = "GPU+ <x> & 'y'" } };
        string json = BenchReportJson.Serialize(report);
        Assert.That(json, Does.Contain("\"name\": \"GPU+ <x> & 'y'\""));
        Assert.That(json, Does.Not.Contain("\\u00"));
        Assert.That(BenchReportJson.Parse(json, "mem").Device.Name, Is.EqualTo("GPU+ <x> & 'y'"));
    }

    [TestCase("0.1.0\\u002B387f2af3ada2c51c34b91eaa2a0508293353238f")]
    [TestCase("0.1.0+387f2af3ada2c51c34b91eaa2a0508293353238f")]
    public void AnOldFileWithTheVersionInItsCommitReadsAsTheCommit(string onDisk)
    {
        // Files written before the fix hold the assembly's informational version ("version+sha"):
        // they still read, and their commit is the short hash the file names and comparisons use.
        string json = BenchReportJson.Serialize(Sample()).Replace("\"commit\": \"abc1234\"", $"\"commit\": \"{onDisk}\"", StringComparison.Ordinal);
        Assert.That(json, Does.Contain(onDisk));
        Assert.That(BenchReportJson.Parse(json, "old.json").Commit, Is.EqualTo("387f2af"));
    }
}
