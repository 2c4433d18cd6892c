// zoe compare on the committed sample results (real CPU runs of `zoe bench`, never hand-written):
// the table has one column per device/backend, each cell is that file's median, and the speedup
// columns are the ratios they claim. A peer row (built here in memory, clearly not a measurement
// on file) exercises the vs-peer arithmetic.
using NUnit.Framework;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Tests.Results;

[TestFixture]
public sealed class BenchComparisonTests
{
    private static IReadOnlyList<(string Path, BenchReport Report)> Samples() =>
        Directory.EnumerateFiles(ResultSamples.Folder, "*.json").Order().Select(p => (p, BenchReportJson.Read(p))).ToArray();

    [Test]
    public void TheSamplesAreRealCpuRunsOfBothCpuBackends()
    {
        var samples = Samples();
        Assert.That(samples.Select(s => s.Report.Cases[0].Backend).Distinct().Order(), Is.EqualTo(new[] { "ilgpu-cpu", "reference" }));
        foreach (var (path, r) in samples)
        {
            Assert.That(r.Device.Sm, Is.EqualTo("cpu"), path);
            Assert.That(r.Ceilings.CopyGbps, Is.GreaterThan(0), path);
            Assert.That(r.Cases.All(c => c.SamplesMs.Count == c.Iterations && c.MedianMs > 0), path);
        }
    }

    [Test]
    public void EmulatedRowsHaveNoTimesAndStayOutOfTheComparison()
    {
        var reference = Samples().Single(s => s.Report.Cases[0].Backend == "reference").Report;
        var first = reference.Cases[0];
        var emulated = reference with
        {
            Cases = [first with { Backend = "cuda-emu", Iterations = 0, MedianMs = 0, MinMs = 0, P90Ms = 0, SamplesMs = [],
                Emulated = new BenchEmulated(1000, 4096, 2048, 0.5, 1.0, []) }],
        };
        var cmp = BenchComparison.Build([reference, emulated], baseline: reference);
        Assert.That(cmp.Columns.Any(c => c.Contains("cuda-emu", StringComparison.Ordinal)), Is.False, "a row with no time is no column");
        Assert.That(cmp.Ops.SelectMany(o => o.Rows).All(r => r.VsBaseline is null or > 0), "no 0 ms divides a speedup");
    }

    [Test]
    public void CompareTabulatesMediansAndSpeedups()
    {
        var samples = Samples();
        var reference = samples.Single(s => s.Report.Cases[0].Backend == "reference").Report;
        var ilgpu = samples.Single(s => s.Report.Cases[0].Backend == "ilgpu-cpu").Report;
        var cmp = BenchComparison.Build([reference, ilgpu], baseline: reference);
        Assert.That(cmp.Columns, Has.Count.EqualTo(2));
        int refCol = cmp.Columns.ToList().FindIndex(c => c.EndsWith("/ reference", StringComparison.Ordinal));
        int ilgpuCol = 1 - refCol;
        foreach (var op in cmp.Ops)
        {
            foreach (var row in op.Rows)
            {
                var r = reference.Cases.Where(c => c.Op == op.Op && c.Shape == row.Shape && c.Dtype == row.Dtype).Select(c => c.MedianMs).ToArray();
                var i = ilgpu.Cases.Where(c => c.Op == op.Op && c.Shape == row.Shape && c.Dtype == row.Dtype).Select(c => c.MedianMs).ToArray();
                Assert.That(row.MedianMs[refCol], Is.EqualTo(r.Length > 0 ? r.Min() : null), $"{op.Op} {row.Shape}");
                Assert.That(row.MedianMs[ilgpuCol], Is.EqualTo(i.Length > 0 ? i.Min() : null), $"{op.Op} {row.Shape}");
                if (r.Length > 0)
                {
                    double best = Math.Min(r.Min(), i.Length > 0 ? i.Min() : double.MaxValue);
                    Assert.That(row.VsBaseline, Is.EqualTo(r.Min() / best).Within(1e-12));
                }
                Assert.That(row.VsPeer, Is.Null, "no peer rows in the CPU samples");
            }
        }
        string md = cmp.ToMarkdown();
        Assert.That(md, Does.Contain("## rms_norm").And.Contain(cmp.Columns[0]).And.Contain("| vs baseline | vs peer |"));
    }

    [Test]
    public void VsPeerIsThePeerOverOursOnTheSameDevice()
    {
        var ours = Samples()[0].Report;
        var row = ours.Cases[0];
        var peer = ours with { Cases = [row with { Backend = "torch", Peer = "eager", MedianMs = row.MedianMs * 3, ErrorVsReference = null }] };
        var cmp = BenchComparison.Build([ours, peer]);
        var r = cmp.Ops.Single(o => o.Op == row.Op).Rows.Single(x => x.Shape == row.Shape && x.Dtype == row.Dtype);
        Assert.That(r.VsPeer, Is.EqualTo(3).Within(1e-9));
        Assert.That(cmp.Columns, Does.Contain($"{ours.Device.Name} / torch:eager"));
    }
}
