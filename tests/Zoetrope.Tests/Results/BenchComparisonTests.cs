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
                // The baseline file is among the results: it is compared with the other columns, never with itself.
                if (r.Length > 0 && i.Length > 0)
                {
                    Assert.That(row.VsBaseline, Is.EqualTo(r.Min() / i.Min()).Within(1e-12));
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

    [Test]
    public void ABaselineAmongTheResultsIsNotComparedWithItself()
    {
        // Finding 4 of issue 16: with the reference file as baseline every row read 1.00x (the
        // baseline's own column was "our best"), although ilgpu-cpu is thousands of times slower.
        var samples = Samples();
        var referencePath = samples.Single(s => s.Report.Cases[0].Backend == "reference").Path;
        var reference = samples.Single(s => s.Path == referencePath).Report;
        var ilgpu = samples.Single(s => s.Report.Cases[0].Backend == "ilgpu-cpu").Report;
        // The baseline read again from the same file (as `zoe compare --baseline` does): matched by content, not instance.
        var cmp = BenchComparison.Build([reference, ilgpu], baseline: BenchReportJson.Read(referencePath));
        int checkedRows = 0;
        foreach (var op in cmp.Ops)
        {
            foreach (var row in op.Rows)
            {
                var r = reference.Cases.Where(c => c.Op == op.Op && c.Shape == row.Shape && c.Dtype == row.Dtype).Select(c => c.MedianMs).ToArray();
                var i = ilgpu.Cases.Where(c => c.Op == op.Op && c.Shape == row.Shape && c.Dtype == row.Dtype).Select(c => c.MedianMs).ToArray();
                if (r.Length > 0 && i.Length > 0)
                {
                    Assert.That(row.VsBaseline, Is.EqualTo(r.Min() / i.Min()).Within(1e-12), $"{op.Op} {row.Shape}");
                    Assert.That(row.VsBaseline, Is.LessThan(0.5), $"{op.Op} {row.Shape}: ilgpu-cpu is slower than the reference on these tiny cases");
                    checkedRows++;
                }
            }
        }
        Assert.That(checkedRows, Is.GreaterThan(50));
        // The other way round: ilgpu-cpu as the baseline, the reference is the faster one.
        var flipped = BenchComparison.Build([reference, ilgpu], baseline: ilgpu);
        Assert.That(flipped.Ops.SelectMany(o => o.Rows).Where(x => x.VsBaseline is not null).All(x => x.VsBaseline > 2));
        // And the Markdown says which file is the baseline.
        Assert.That(cmp.ToMarkdown(), Does.Contain($"baseline: {reference.Device.Name} / reference"));
    }

    [Test]
    public void EveryNumberInTheMarkdownHasThreeSignificantDigitsAndReadsTrue()
    {
        // Findings 4 and 10 of issue 16: ratios read 0.00x (two decimals on 0.000147) and a median
        // column mixed 13.584 with 0.002 (five digits beside one). One format per column: three
        // significant digits, each cell within rounding of the number it stands for.
        var samples = Samples();
        var reference = samples.Single(s => s.Report.Cases[0].Backend == "reference").Report;
        var ilgpu = samples.Single(s => s.Report.Cases[0].Backend == "ilgpu-cpu").Report;
        foreach (var (files, baseline) in new[] { ((BenchReport[])[ilgpu], reference), ([reference, ilgpu], reference), ([reference, ilgpu], ilgpu) })
        {
            var cmp = BenchComparison.Build(files, baseline);
            var tables = MarkdownRows(cmp.ToMarkdown());
            int n = 0;
            foreach (var op in cmp.Ops)
            {
                foreach (var row in op.Rows)
                {
                    var cells = tables[(op.Op, row.Shape.Replace("|", "\\|", StringComparison.Ordinal), row.Dtype)];
                    for (int c = 0; c < cmp.Columns.Count; c++)
                    {
                        AssertCell(cells[c], row.MedianMs[c], suffix: "", $"{op.Op} {row.Shape} {cmp.Columns[c]}");
                    }
                    AssertCell(cells[cmp.Columns.Count], row.VsBaseline, suffix: "x", $"{op.Op} {row.Shape} vs baseline");
                    n++;
                }
            }
            Assert.That(n, Is.GreaterThan(50));
        }
    }

    [TestCase(0.000147, "0.000147")]
    [TestCase(0.00183, "0.00183")]
    [TestCase(0.0736, "0.0736")]
    [TestCase(1.0, "1.00")]
    [TestCase(6.7918, "6.79")]
    [TestCase(9.996, "10.0")]
    [TestCase(49.8, "49.8")]
    [TestCase(454.3, "454")]
    [TestCase(999.7, "1,000")]
    [TestCase(5460.3, "5,460")]
    [TestCase(12385.42, "12,400")]
    [TestCase(1.234e-5, "1.23e-5")]
    [TestCase(6.752e-11, "6.75e-11")]
    [TestCase(2.5e7, "2.50e+7")]
    [TestCase(0.0, "0")]
    [TestCase(-0.0736, "-0.0736")]
    public void ThreeSignificantDigits(double value, string expected) =>
        Assert.That(ResultFormat.Significant(value), Is.EqualTo(expected));

    // (op, case, dtype) -> the cells after dtype, from every table of compare.md.
    private static Dictionary<(string, string, string), string[]> MarkdownRows(string md)
    {
        var rows = new Dictionary<(string, string, string), string[]>();
        string op = "";
        foreach (var line in md.Split('\n'))
        {
            if (line.StartsWith("## ", StringComparison.Ordinal))
            {
                op = line[3..].Trim();
            }
            else if (line.StartsWith("| ", StringComparison.Ordinal) && !line.StartsWith("| case ", StringComparison.Ordinal))
            {
                // Split on cell bars, not on the escaped \| inside a case label.
                var cells = System.Text.RegularExpressions.Regex.Split(line.Trim().Trim('|'), @"(?<!\\)\|").Select(c => c.Trim()).ToArray();
                rows[(op, cells[0], cells[1])] = cells[2..];
            }
        }
        return rows;
    }

    private static void AssertCell(string cell, double? value, string suffix, string what)
    {
        if (value is not { } v)
        {
            Assert.That(cell, Is.EqualTo("-"), what);
            return;
        }
        Assert.That(cell, Does.EndWith(suffix), what);
        string number = cell[..^suffix.Length];
        Assert.That(SignificantDigits(number), Is.EqualTo(3), $"{what}: '{cell}' for {v}");
        double read = double.Parse(number.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(read, Is.EqualTo(v).Within(0.5).Percent, $"{what}: '{cell}' for {v}");
    }

    /// <summary>Significant digits a cell shows: 1,230 and 12,400 count as three (whole thousands).</summary>
    internal static int SignificantDigits(string number)
    {
        string s = number.TrimStart('-');
        if (System.Text.RegularExpressions.Regex.IsMatch(s, @"^\d{1,3}(,\d{3})+$"))
        {
            return 3;
        }
        string mantissa = s.Split('e')[0];
        return mantissa.Replace(".", "", StringComparison.Ordinal).TrimStart('0').Length;
    }
}
