using System.Globalization;
using System.Text;

namespace Zoetrope.Runtime.Checking;

/// <summary>The rows of a harness run, their tally, and a plain-text table for logs.</summary>
public sealed class CheckReport(IReadOnlyList<CheckRow> rows)
{
    /// <summary>Every row.</summary>
    public IReadOnlyList<CheckRow> Rows { get; } = rows;

    /// <summary>Rows that passed.</summary>
    public int Passed => Rows.Count(r => r.Status == CheckStatus.Pass);

    /// <summary>Rows that failed.</summary>
    public int Failed => Rows.Count(r => r.Status == CheckStatus.Fail);

    /// <summary>Rows not run (cap, unsupported, unavailable).</summary>
    public int NotRun => Rows.Count(r => r.Status is not (CheckStatus.Pass or CheckStatus.Fail));

    /// <summary>True when nothing failed.</summary>
    public bool Succeeded => Failed == 0;

    /// <summary>A fixed-width table, one line per row, then the tally.</summary>
    public string ToText()
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(string.Format(inv, "{0,-10} {1,-32} {2,-11} {3,-11} {4,10} {5,10} {6,9}  {7}", "op", "case", "backend", "status", "relL2", "maxAbs", "ms", "note"));
        foreach (var r in Rows)
        {
            string rel = double.IsNaN(r.RelL2) ? "-" : r.RelL2.ToString("0.00e+0", inv);
            string abs = double.IsNaN(r.MaxAbs) ? "-" : r.MaxAbs.ToString("0.00e+0", inv);
            string note = r.Status == CheckStatus.Pass ? r.Tolerance : r.Message;
            sb.AppendLine(string.Format(inv, "{0,-10} {1,-32} {2,-11} {3,-11} {4,10} {5,10} {6,9:0.0}  {7}",
                r.Op, r.Case, r.Backend, r.Status.ToString().ToLowerInvariant(), rel, abs, r.Milliseconds, note));
        }
        sb.AppendLine(string.Format(inv, "{0} passed, {1} failed, {2} not run", Passed, Failed, NotRun));
        return sb.ToString();
    }
}
