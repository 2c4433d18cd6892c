// zoe compare as a user meets it (issue 16): paths checked up front in the wording every verb
// shares, speedups against a baseline that is among the results read true, and the PNG keeps its
// labels and legend where they can be read (nothing clipped at the figure's edge, the legend
// outside the bars).
using NUnit.Framework;
using SkiaSharp;
using Zoetrope.Cli.Commands;
using Zoetrope.Runtime.Results;
using Zoetrope.Tests.Cli;

namespace Zoetrope.Tests.Results;

[TestFixture]
[NonParallelizable]
public sealed class CompareCommandTests
{
    private TempDirectory _tmp = null!;

    [SetUp]
    public void SetUp() => _tmp = new TempDirectory("zt-compare");

    [TearDown]
    public void TearDown() => _tmp.Dispose();

    private static string[] SampleFiles() => Directory.EnumerateFiles(ResultSamples.Folder, "*.json").Order().ToArray();

    private static string SampleOf(string backend) => SampleFiles().Single(f => f.EndsWith($"-{backend}.json", StringComparison.Ordinal));

    [Test]
    public void ADirectoryAsBaselineIsATypedError()
    {
        // Finding 8: this was "internal error: UnauthorizedAccessException", exit 3.
        var run = Zoe.Run(["compare", .. SampleFiles(), "--baseline", ResultSamples.Folder, "--out", _tmp.File("cmp")]);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain($"error: --baseline {ResultSamples.Folder}: is a directory; expected a file"), run.ToString());
    }

    [Test]
    public void AMissingResultFileOrBaselineIsNamed()
    {
        string missing = _tmp.File("nope.json");
        var run = Zoe.Run("compare", SampleOf("reference"), missing, "--out", _tmp.File("cmp"));
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain($"error: results {missing}: no such file"), run.ToString());
        run = Zoe.Run("compare", SampleOf("reference"), "--baseline", missing, "--out", _tmp.File("cmp"));
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain($"error: --baseline {missing}: no such file"), run.ToString());
        Assert.That(Directory.Exists(_tmp.File("cmp")), Is.False, "refused before anything is written");
    }

    [Test]
    public void AFileAsTheOutputFolderIsRefusedBeforeAnyWork()
    {
        string file = _tmp.File("taken");
        File.WriteAllText(file, "x");
        var run = Zoe.Run("compare", SampleOf("reference"), "--out", file);
        Assert.That(run.Exit, Is.EqualTo(2), run.ToString());
        Assert.That(run.Err, Does.Contain($"error: --out {file}: is a file; expected a folder"), run.ToString());
        Assert.That(run.Out, Is.Empty, run.ToString());
    }

    [Test]
    public void TheBaselineAmongTheResultsGivesTrueRatios()
    {
        // Finding 4: every row read 1.00x with the reference file as baseline, and 0.00x when the
        // baseline was not among the results, where ilgpu-cpu is about 1e-4 times the reference's speed.
        string reference = SampleOf("reference");
        string ilgpu = SampleOf("ilgpu-cpu");
        foreach (var inputs in new[] { new[] { reference, ilgpu }, [ilgpu] })
        {
            string outDir = _tmp.File($"cmp{inputs.Length}");
            var run = Zoe.Run(["compare", .. inputs, "--baseline", reference, "--out", outDir]);
            Assert.That(run.Exit, Is.Zero, run.ToString());
            Assert.That(run.Out, Does.Not.Contain(" 1.00x").And.Not.Contain(" 0.00x"), run.ToString());
            // rms_norm f32 [1, 1]: 13.58 ms on ilgpu-cpu, 0.0020 ms on the reference.
            var line = run.Out.Split('\n').First(l => l.StartsWith("| f32 [1, 1] eps=1E-06 |", StringComparison.Ordinal));
            Assert.That(line, Does.Contain("| 0.000147x |"), line);
        }
    }

    [Test]
    public void ThePlotKeepsItsLabelsInsideTheFigureAndTheLegendOffTheBars()
    {
        // Finding 10: rotated case labels ran off the bottom of the PNG and the legend sat on the bars.
        // Twelve columns with long device names and long case labels: the worst layout compare meets.
        var reference = BenchReportJson.Read(SampleOf("reference"));
        var longCases = reference.Cases.Where(c => c.Op == "rms_norm").Take(6)
            .Select((c, i) => c with { Shape = $"B=4 H=32 Nq={8192 * (i + 1)} Nkv={8192 * (i + 1)} D=128 HND causal smooth-k {c.Shape}" }).ToArray();
        var reports = Enumerable.Range(0, 12).Select(d => reference with
        {
            Device = reference.Device with { Name = $"NVIDIA H100 80GB HBM3 #{d} (SXM5, 132 SMs, driver 12.8)" },
            Cases = longCases.Select(c => c with { MedianMs = c.MedianMs * Math.Pow(10, d % 5), SamplesMs = c.SamplesMs.Select(x => x * Math.Pow(10, d % 5)).ToArray() }).ToArray(),
        }).ToArray();
        var cmp = BenchComparison.Build(reports);
        var (plot, width, height) = CompareCommand.CreatePlot(cmp, cmp.Ops.Single());
        string png = _tmp.File("plot.png");
        plot.SavePng(png, width, height);

        using var bitmap = SKBitmap.Decode(png);
        Assert.That(bitmap, Is.Not.Null, "a valid PNG");
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((width, height)));
        // Nothing drawn in a 3-pixel band along each edge: a clipped label leaves ink there.
        var background = bitmap.GetPixel(0, 0);
        var ink = new List<string>();
        for (int x = 0; x < bitmap.Width; x++)
        {
            for (int y = 0; y < bitmap.Height; y++)
            {
                bool edge = x < 3 || y < 3 || x >= bitmap.Width - 3 || y >= bitmap.Height - 3;
                if (edge && bitmap.GetPixel(x, y) != background)
                {
                    ink.Add($"({x},{y})");
                }
            }
        }
        Assert.That(ink, Is.Empty, $"{ink.Count} pixels drawn at the edge of a {bitmap.Width}x{bitmap.Height} figure, first {string.Join(" ", ink.Take(8))}");
        Assert.That(plot.Legend.IsVisible, Is.False, "no legend inside the data area");
        Assert.That(plot.Axes.GetPanels().OfType<ScottPlot.Panels.LegendPanel>().Count(), Is.EqualTo(1), "the legend is a panel beside it");
        // The data area leaves room below it for the rotated labels.
        var data = plot.RenderManager.LastRender.DataRect;
        Assert.That(height - data.Bottom, Is.GreaterThan(100), "room below the data area for the rotated case labels");
    }
}
