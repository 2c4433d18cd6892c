using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Bench.Suites;

/// <summary>
/// TFLOP/s or GB/s of an op row at the measured mean: the work comes from the op's own cost model
/// (the same one `zoe bench` and `zoe check` use), looked up from the benchmark's Row parameter.
/// </summary>
public sealed class ThroughputColumn(bool flops) : IColumn
{
    /// <inheritdoc />
    public string Id => flops ? "TFLOPs" : "GBps";

    /// <inheritdoc />
    public string ColumnName => flops ? "TFLOP/s" : "GB/s";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public int PriorityInCategory => flops ? 0 : 1;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => flops ? "Operations per second / 1e12 at the mean (op cost model)" : "Bytes moved per second / 1e9 at the mean (op cost model)";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var row = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == "Row")?.Value as string;
        var report = summary[benchmarkCase];
        if (row is null || report?.ResultStatistics is not { } stats)
        {
            return "-";
        }
        var parts = row.Split('#');
        var cost = OpCatalog.Get(parts[0]).Cases()[int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture)].Instance.Cost;
        double ms = stats.Mean / 1e6;
        return (flops ? cost.Tflops(ms) : cost.GBps(ms)).ToString("G4", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
