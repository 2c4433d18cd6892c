using System.CommandLine;
using Spectre.Console;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe check</c>: runs the op harness on the chosen backends and prints the table; exits 1 on
/// any failure. A backend asked for by name that cannot run here is a typed error (exit 2), and
/// so is the reference alone: it is the oracle, checked against ONNX Runtime by the tests.
/// </summary>
public static class CheckCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var backend = new Option<string>("--backend") { Description = "comma-separated backends to check against the reference: ilgpu-cpu, ilgpu-cuda, cuda, ilgpu-emu, cuda-emu, or all (the reference itself is the oracle, checked against ONNX Runtime by the tests)", DefaultValueFactory = _ => "ilgpu-cpu" };
        var op = new Option<string>("--op") { Description = "comma-separated op names (default: all)", DefaultValueFactory = _ => string.Empty };
        var seed = new Option<int>("--seed") { Description = "base random seed", DefaultValueFactory = _ => new CheckOptions().Seed };
        var bench = new Option<bool>("--bench-cases") { Description = "also run the model-sized benchmark cases (for GPUs)" };
        var stats = new Option<bool>("--stats") { Description = "on cuda-emu/ilgpu-emu: print the emulated device's counters per case and per kernel (instructions, coalescing, bank conflicts, bytes moved vs the cost model)" };
        var save = new Option<string?>("--save-outputs") { Description = "keep every backend's outputs, bit for bit, in DIR/<op>/caseNNN/<backend>/<output>.npy (zoe emu-compare pairs the emulator's with a GPU's)" };
        var cmd = new Command("check", "Check every op on the chosen backends against the reference") { backend, op, seed, bench, stats, save };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(backend)!, r.GetValue(op)!, r.GetValue(seed), r.GetValue(bench), r.GetValue(stats), r.GetValue(save))));
        return cmd;
    }

    private static int Run(string backendList, string opList, int seed, bool benchCases, bool stats, string? saveOutputs)
    {
        // Every argument is checked before any work: backends, ops, then the output folder.
        var kinds = BackendKinds.ParseList(backendList);
        string checkable = string.Join(", ", BackendKinds.All.Where(k => k != BackendKind.Reference).Select(k => k.Label()));
        if (kinds.Count == 0)
        {
            throw new ArgumentException($"--backend '{backendList}': names no backend; expected one or more of {checkable} (or all)");
        }
        // The reference is the oracle every row is measured against, so it has no row of its
        // own; an empty table and "0 passed" would read as a check that found nothing wrong.
        string oracle = "the reference backend is the oracle every other backend is checked against, so it has no row of its own; " +
            "it is itself checked against ONNX Runtime in the test suite (tests/Zoetrope.Tests/Oracle: dotnet test --filter FullyQualifiedName~Oracle)";
        if (kinds.All(k => k == BackendKind.Reference))
        {
            throw new ArgumentException($"--backend reference: {oracle}; choose a backend to check: {checkable}");
        }
        foreach (var kind in kinds)
        {
            // Fail now, with the reason, rather than reporting every row as unavailable.
            Backends.Get(kind);
        }
        string[] ops = opList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string name in ops)
        {
            // An unknown name fails here, listing the known ops, before --save-outputs creates a folder.
            OpCatalog.Get(name);
        }
        if (saveOutputs is not null)
        {
            CliArgs.OutputDirectory(saveOutputs, "--save-outputs");
        }
        if (kinds.Contains(BackendKind.Reference))
        {
            Console.WriteLine($"note: reference skipped: {oracle}");
        }
        var options = new CheckOptions
        {
            Backends = kinds,
            Ops = ops,
            Seed = seed,
            IncludeBenchCases = benchCases,
            EmulatorCounters = stats,
            SaveOutputs = saveOutputs,
        };
        var table = new Table().Border(TableBorder.Simple).AddColumns("op", "case", "backend", "status", "relL2", "maxAbs", "ms", "note");
        var report = OpChecker.Run(options, row =>
        {
            string status = row.Status switch
            {
                CheckStatus.Pass => "[green]pass[/]",
                CheckStatus.Fail => "[red]FAIL[/]",
                _ => $"[grey]{row.Status.ToString().ToLowerInvariant()}[/]",
            };
            table.AddRow(row.Op, Markup.Escape(row.Case), row.Backend, status,
                double.IsNaN(row.RelL2) ? "-" : row.RelL2.ToString("0.00e+0"),
                double.IsNaN(row.MaxAbs) ? "-" : row.MaxAbs.ToString("0.00e+0"),
                row.Milliseconds.ToString("0.0"),
                Markup.Escape(row.Status == CheckStatus.Pass ? row.Tolerance : row.Message));
        });
        AnsiConsole.Write(table);
        // The table wraps long notes; a failure's message (an emulator finding names kernel, CTA,
        // thread, PTX line and source line) is printed whole, once per row.
        var failures = report.Rows.Where(r => r.Status == CheckStatus.Fail).ToArray();
        if (failures.Length > 0)
        {
            Console.WriteLine();
            Console.WriteLine("failures:");
            foreach (var r in failures)
            {
                Console.WriteLine($"- {r.Op} [{r.Case}] on {r.Backend}: {r.Message}");
            }
        }
        if (stats)
        {
            EmulatorStatsTables.Print(report.Rows);
        }
        AnsiConsole.MarkupLine($"{report.Passed} passed, {report.Failed} failed, {report.NotRun} not run");
        return report.Succeeded ? 0 : 1;
    }
}
