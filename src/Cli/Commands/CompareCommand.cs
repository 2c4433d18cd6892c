using System.CommandLine;
using Spectre.Console;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe compare</c>: result files (and folders of them) -> compare.md with one table per op
/// (median ms per device/backend/peer, speedup vs a baseline file and vs the peer), and one PNG
/// per op: grouped bars of median ms per case, one bar per column, log scale.
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
        var paths = inputs.SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*.json", SearchOption.AllDirectories).Order() : (IEnumerable<string>)[p]).ToList();
        if (paths.Count == 0)
        {
            throw new ArgumentException($"compare: no result files in {string.Join(", ", inputs)}");
        }
        var reports = paths.Select(BenchReportJson.Read).ToList();
        var baseline = baselinePath is null ? null : BenchReportJson.Read(baselinePath);
        var comparison = BenchComparison.Build(reports, baseline);
        Directory.CreateDirectory(outDir);
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
        var plot = new ScottPlot.Plot();
        int columns = comparison.Columns.Count;
        double width = 0.8 / columns;
        var palette = new ScottPlot.Palettes.Category10();
        for (int c = 0; c < columns; c++)
        {
            var bars = new List<ScottPlot.Bar>();
            for (int r = 0; r < op.Rows.Count; r++)
            {
                if (op.Rows[r].MedianMs[c] is { } ms && ms > 0)
                {
                    bars.Add(new ScottPlot.Bar { Position = r + ((c - ((columns - 1) / 2.0)) * width), Value = Math.Log10(ms), Size = width, FillColor = palette.GetColor(c) });
                }
            }
            var series = plot.Add.Bars(bars);
            series.LegendText = comparison.Columns[c];
        }
        var ticks = op.Rows.Select((r, i) => new ScottPlot.Tick(i, Short(r.Shape))).ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = ScottPlot.Alignment.MiddleLeft;
        plot.Axes.Left.Label.Text = "log10(median ms), lower is faster";
        plot.Title($"{op.Op}: median time per case");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, Math.Max(640, 140 * op.Rows.Count), 520);
    }

    private static string Short(string label) => label.Length <= 28 ? label : label[..27] + "…";
}
