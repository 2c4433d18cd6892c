// Zoetrope's BenchmarkDotNet suites. Every suite reads the ops' own case tables (no second list
// of shapes) through BenchSuites, the table `zoe bench` uses: `dotnet run -c Release --project
// bench/Zoetrope.Bench -- --filter '*'`. ZOETROPE_BENCH_BACKEND picks the backend (default
// ilgpu-cpu), ZOETROPE_BENCH_USE=check|bench picks the case rows (default check: CPU-sized).
// Runs in-process (no child build: works from a self-contained publish with no SDK), with
// TFLOP/s and GB/s columns from the ops' cost models; `--job short` is the CI-sized smoke run.
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Zoetrope.Bench.Suites;

namespace Zoetrope.Bench;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Runs the suites the arguments select.</summary>
    public static void Main(string[] args)
    {
        // Every job runs in-process (BenchmarkDotNet's --inProcess), whichever --job is asked for.
        var config = DefaultConfig.Instance.AddColumn(new ThroughputColumn(flops: true), new ThroughputColumn(flops: false));
        string[] all = args.Contains("--inProcess", StringComparer.OrdinalIgnoreCase) ? args : [.. args, "--inProcess"];
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(all, config);
    }
}
