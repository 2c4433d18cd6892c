using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe compare</c>: result files (and folders of them) -> compare.md with one table per op
/// (median ms per device/backend/peer, speedup vs a baseline file and vs the peer), and one PNG
/// per op: grouped bars of median ms per case, one bar per column, log scale. Paths are checked
/// before anything is read: result files and <c>--baseline</c> must be files, <c>--out</c> a folder
/// (created when missing).
/// </summary>
public static class CompareCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var files = new Argument<string[]>("results") { Description = "result .json files or folders of them", Arity = ArgumentArity.OneOrMore };
        var baseline = new Option<string?>("--baseline") { Description = "the result file speedups are relative to" };
        var output = new Option<string>("--out") { Description = "folder for compare.md and the plots", DefaultValueFactory = _ => "compare" };
        var cmd = new Command("compare", "Compare benchmark results across GPUs, backends and peers (Markdown + PNG)") { files, baseline, output };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(files)!, r.GetValue(baseline), r.GetValue(output)!)));
        return cmd;
    }

    private static int Run(string[] inputs, string? baselinePath, string outDir)
    {
        // Every path is checked before anything is read or written, in the wording every verb shares.
        var paths = inputs.SelectMany(p => Directory.Exists(p)
            ? Directory.EnumerateFiles(p, "*.json", SearchOption.AllDirectories).Order()
            : (IEnumerable<string>)[CliArgs.InputFile(p, "results")]).ToList();
        if (paths.Count == 0)
        {
            throw new ArgumentException($"results {string.Join(", ", inputs)}: no result files (*.json) there");
        }
        if (baselinePath is not null)
        {
            CliArgs.InputFile(baselinePath, "--baseline");
        }
        CliArgs.OutputDirectory(outDir, "--out");
        var reports = paths.Select(p => (Path: Path.GetFullPath(p), Report: BenchReportJson.Read(p))).ToList();
        // A baseline that is one of the results is that very report (BenchComparison leaves its
        // rows out of "our best"; it would also recognise a second reading by content).
        var baseline = baselinePath is null ? null
            : reports.FirstOrDefault(r => r.Path == Path.GetFullPath(baselinePath)).Report ?? BenchReportJson.Read(baselinePath);
        var comparison = BenchComparison.Build(reports.Select(r => r.Report).ToList(), baseline);
        string md = comparison.ToMarkdown();
        File.WriteAllText(Path.Combine(outDir, "compare.md"), md);
        foreach (var op in comparison.Ops)
        {
            Plot(comparison, op, Path.Combine(outDir, $"{op.Op}.png"));
        }
        AnsiConsole.WriteLine(md);
        AnsiConsole.MarkupLine(Markup.Escape($"{paths.Count} result files, {comparison.Ops.Count} ops: wrote {Path.Combine(outDir, "compare.md")} and {comparison.Ops.Count} plots"));
        return 0;
    }

    private static void Plot(BenchComparison comparison, BenchComparison.OpTable op, string path)
    {
        var (plot, width, height) = CreatePlot(comparison, op);
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// The plot of one op and the size to render it at: grouped bars of median ms on a log scale
    /// (labelled in ms), case labels rotated under the bars with the room they need, and the
    /// legend in a panel to the right of the data, never on the bars.
    /// </summary>
    internal static (ScottPlot.Plot Plot, int Width, int Height) CreatePlot(BenchComparison comparison, BenchComparison.OpTable op)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        ArgumentNullException.ThrowIfNull(op);
        var plot = new ScottPlot.Plot();
        int columns = comparison.Columns.Count;
        double width = 0.8 / columns;
        ScottPlot.IPalette palette = columns <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        // Bars are linear in ScottPlot: a bar is log10(ms) standing on a floor a decade under the
        // fastest case, so every bar grows upward and its height reads as time on the decade ticks.
        var times = op.Rows.SelectMany(r => r.MedianMs).OfType<double>().Where(ms => ms > 0).DefaultIfEmpty(1).ToArray();
        double floor = Math.Floor(Math.Log10(times.Min()));
        double top = Math.Max(floor + 1, Math.Ceiling(Math.Log10(times.Max())));
        for (int c = 0; c < columns; c++)
        {
            var bars = new List<ScottPlot.Bar>();
            for (int r = 0; r < op.Rows.Count; r++)
            {
                if (op.Rows[r].MedianMs[c] is { } ms && ms > 0)
                {
                    bars.Add(new ScottPlot.Bar
                    {
                        Position = r + ((c - ((columns - 1) / 2.0)) * width), Value = Math.Log10(ms), ValueBase = floor, Size = width, FillColor = palette.GetColor(c),
                    });
                }
            }
            var series = plot.Add.Bars(bars);
            series.LegendText = comparison.Columns[c];
        }
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(DecadeTicks(floor, top));
        plot.Axes.SetLimitsY(floor, top);
        plot.Axes.SetLimitsX(-0.5, op.Rows.Count - 0.5);
        plot.Axes.Left.Label.Text = "median ms (log scale), lower is faster";

        // Case labels at 45 degrees, hanging down-right from their tick: the axis panel is sized
        // to hold the longest (ScottPlot sizes it for unrotated text, which clipped them).
        var labels = op.Rows.Select(r => Short(r.Shape)).ToArray();
        var ticks = labels.Select((label, i) => new ScottPlot.Tick(i, label)).ToArray();
        var bottom = plot.Axes.Bottom;
        bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        bottom.TickLabelStyle.Rotation = Rotation;
        bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        using var paint = ScottPlot.Paint.NewDisposablePaint();
        var sizes = labels.Select(l => bottom.TickLabelStyle.Measure(l, paint).Size).ToArray();
        double sin = Math.Sin(Rotation * Math.PI / 180), cos = Math.Cos(Rotation * Math.PI / 180);
        float below = (float)sizes.Max(z => (z.Width * sin) + (z.Height * cos)) + 30;
        float beyond = (float)(sizes[^1].Width * cos); // the last label runs right of the data area
        bottom.MinimumSize = below;

        plot.Title($"{op.Op}: median time per case");
        var legend = plot.ShowLegend(ScottPlot.Edge.Right);
        var legendStyle = new ScottPlot.LabelStyle { FontSize = plot.Legend.FontSize ?? 14 };
        float legendWidth = comparison.Columns.Max(c => legendStyle.Measure(c, paint).Width) + 60;
        // The legend panel is at least as wide as the last case label's overhang, so that label
        // ends inside the figure.
        legend.Padding = new ScottPlot.PixelPadding(Math.Max(10, beyond - legendWidth + 20), 10, 10, 10);
        float legendHeight = (columns * 22) + 40;
        int plotWidth = Math.Max(640, op.Rows.Count * Math.Max(140, columns * 14));
        int widthPx = plotWidth + (int)Math.Max(legendWidth, beyond) + 80;
        int heightPx = (int)(Math.Max(480, legendHeight) + below);
        return (plot, widthPx, heightPx);
    }

    private const float Rotation = 45;

    // Decade ticks labelled in ms (0.001, 0.01, 1, 10, 1,000) with unlabelled 2..9 minor ticks.
    private static ScottPlot.Tick[] DecadeTicks(double floor, double top)
    {
        var ticks = new List<ScottPlot.Tick>();
        for (int e = (int)floor; e <= (int)top; e++)
        {
            double value = Math.Pow(10, e);
            string label = e >= 0 ? value.ToString("#,0", CultureInfo.InvariantCulture) : value.ToString("0.############", CultureInfo.InvariantCulture);
            ticks.Add(ScottPlot.Tick.Major(e, label));
            for (int m = 2; m <= 9 && e < top; m++)
            {
                ticks.Add(ScottPlot.Tick.Minor(e + Math.Log10(m)));
            }
        }
        return [.. ticks];
    }

    // Labels stay whole up to 48 characters (the axis makes room for them); longer ones are cut.
    private static string Short(string label) => label.Length <= 48 ? label : label[..47] + "…";
}
