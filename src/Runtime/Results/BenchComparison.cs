// BenchComparison: many result files (GPUs, backends, peers) -> one table per op. Columns are
// (device, backend) pairs, peer rows included ("torch:sdpa"); rows are the case labels. Each
// cell is the median ms; two derived columns say who wins: the best Zoetrope column against the
// baseline file's best row for the same case, and against the peer on the same device.
// The baseline file is often one of the results too (`zoe compare a.json b.json --baseline a.json`):
// its own rows are then left out of "our best", or every row would compare the baseline with
// itself and read 1x. It is recognised by content (the same run serialises to the same text), as
// the command reads it a second time.
using System.Globalization;
using System.Text;

namespace Zoetrope.Runtime.Results;

/// <summary>A cross-file comparison of benchmark results.</summary>
internal sealed class BenchComparison
{
    private BenchComparison(IReadOnlyList<string> columns, IReadOnlyList<OpTable> ops, string? baseline)
    {
        Columns = columns;
        Ops = ops;
        Baseline = baseline;
    }

    /// <summary>The baseline's columns ("device / backend"), or null without a baseline.</summary>
    public string? Baseline { get; }

    /// <summary>Column labels, "device / backend" (peers: "device / torch:impl").</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>One table per op, in first-seen order.</summary>
    public IReadOnlyList<OpTable> Ops { get; }

    /// <summary>One op's rows.</summary>
    /// <param name="Op">Op name.</param>
    /// <param name="Rows">Its cases.</param>
    public sealed record OpTable(string Op, IReadOnlyList<Row> Rows);

    /// <summary>One case across columns.</summary>
    /// <param name="Shape">Case label.</param>
    /// <param name="Dtype">Dtype.</param>
    /// <param name="MedianMs">Median ms per column (null where that column lacks the case).</param>
    /// <param name="VsBaseline">
    /// Baseline best / the best Zoetrope column that is not the baseline file's (greater than 1:
    /// faster than the baseline), or null.
    /// </param>
    /// <param name="VsPeer">Peer / ours on the same device, best device, or null.</param>
    public sealed record Row(string Shape, string Dtype, IReadOnlyList<double?> MedianMs, double? VsBaseline, double? VsPeer);

    /// <summary>Compares <paramref name="reports"/>; <paramref name="baseline"/> (optional) anchors the speedups.</summary>
    public static BenchComparison Build(IReadOnlyList<BenchReport> reports, BenchReport? baseline = null)
    {
        ArgumentNullException.ThrowIfNull(reports);
        // Rows of the emulated device carry counters, not times: they have nothing to compare here.
        string? baselineText = baseline is null ? null : BenchReportJson.Serialize(baseline);
        bool IsBaseline(BenchReport r) => baseline is not null && (ReferenceEquals(r, baseline) || BenchReportJson.Serialize(r) == baselineText);
        var cells = reports.SelectMany(r =>
        {
            bool fromBaseline = IsBaseline(r);
            return r.Cases.Where(c => c.Emulated is null).Select(c => (Column: Column(r, c), Case: c, Device: r.Device.Name, FromBaseline: fromBaseline));
        }).ToList();
        var columns = cells.Select(x => x.Column).Distinct().ToList();
        var ops = new List<OpTable>();
        foreach (var op in cells.Select(x => x.Case.Op).Distinct())
        {
            var rows = new List<Row>();
            foreach (var key in cells.Where(x => x.Case.Op == op).Select(x => (x.Case.Shape, x.Case.Dtype)).Distinct())
            {
                var mine = cells.Where(x => x.Case.Op == op && x.Case.Shape == key.Shape && x.Case.Dtype == key.Dtype).ToList();
                var medians = columns.Select(col => mine.Where(x => x.Column == col).Select(x => (double?)x.Case.MedianMs).Min()).ToArray();
                var ours = mine.Where(x => x.Case.Peer is null).ToList();
                var others = ours.Where(x => !x.FromBaseline).ToList();
                double? best = others.Count > 0 ? others.Min(x => x.Case.MedianMs) : null;
                double? vsBaseline = null;
                if (baseline is not null && best is not null)
                {
                    var b = baseline.Cases.Where(c => c.Op == op && c.Shape == key.Shape && c.Dtype == key.Dtype && c.Peer is null).ToList();
                    vsBaseline = b.Count > 0 ? b.Min(c => c.MedianMs) / best : null;
                }
                double? vsPeer = null;
                foreach (var device in ours.Select(x => x.Device).Distinct())
                {
                    var peer = mine.Where(x => x.Device == device && x.Case.Peer is not null).Select(x => x.Case.MedianMs).DefaultIfEmpty(double.NaN).Min();
                    var own = ours.Where(x => x.Device == device).Min(x => x.Case.MedianMs);
                    if (!double.IsNaN(peer))
                    {
                        vsPeer = Math.Max(vsPeer ?? 0, peer / own);
                    }
                }
                rows.Add(new Row(key.Shape, key.Dtype, medians, vsBaseline, vsPeer));
            }
            ops.Add(new OpTable(op, rows));
        }
        string? label = baseline is null ? null
            : string.Join(", ", baseline.Cases.Where(c => c.Emulated is null && c.Peer is null).Select(c => Column(baseline, c)).Distinct());
        return new BenchComparison(columns, ops, label);
    }

    /// <summary>The comparison as Markdown: a heading and a table per op.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Benchmark comparison").AppendLine();
        sb.AppendLine("Median ms per case, three significant digits. "
            + "`vs baseline` = the baseline's best / the best other Zoetrope column (> 1: faster than the baseline); "
            + "`vs peer` = PyTorch / ours on the same device (> 1: Zoetrope faster).").AppendLine();
        if (Baseline is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"baseline: {Baseline}").AppendLine();
        }
        foreach (var op in Ops)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"## {op.Op}").AppendLine();
            sb.AppendLine($"| case | dtype | {string.Join(" | ", Columns)} | vs baseline | vs peer |");
            sb.AppendLine($"|---|---|{string.Concat(Columns.Select(_ => "---:|"))}---:|---:|");
            foreach (var r in op.Rows)
            {
                string cells = string.Join(" | ", r.MedianMs.Select(ResultFormat.Cell));
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {r.Shape.Replace("|", "\\|", StringComparison.Ordinal)} | {r.Dtype} | {cells} | {ResultFormat.Ratio(r.VsBaseline)} | {ResultFormat.Ratio(r.VsPeer)} |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    private static string Column(BenchReport r, BenchCase c) => c.Peer is null ? $"{r.Device.Name} / {c.Backend}" : $"{r.Device.Name} / {c.Backend}:{c.Peer}";
}
