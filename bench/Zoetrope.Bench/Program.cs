// Zoetrope's BenchmarkDotNet suites. Every suite reads the ops' own case tables (no second list
// of shapes): `dotnet run -c Release --project bench/Zoetrope.Bench -- --filter '*'`.
// ZOETROPE_BENCH_BACKEND picks the backend (default ilgpu-cpu), ZOETROPE_BENCH_USE=check|bench
// picks the case rows (default check: CPU-sized). --job short gives a CI-sized smoke run.
using BenchmarkDotNet.Running;

namespace Zoetrope.Bench;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Runs the suites the arguments select.</summary>
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
