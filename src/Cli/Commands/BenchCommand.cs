using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Zoetrope.Cli.Preflight;
using Zoetrope.Engine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;
using Zoetrope.Runtime.Results;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe bench</c>: the kernel engineer's measurement (BenchRunner): ceilings first, then every
/// case row of the chosen suites with device timers, printed as a table and written as a
/// self-describing JSON result (bench/results/&lt;gpu&gt;/&lt;date&gt;-&lt;commit&gt;.json by default on GPUs).
/// The <c>stream</c> suite adds one row per streaming variant (StreamBench).
/// </summary>
public static class BenchCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var suite = new Option<string>("--suite") { Description = $"comma-separated: {string.Join(", ", BenchSuites.Names)}, stream or all", DefaultValueFactory = _ => "all" };
        var backend = new Option<string>("--backend") { Description = "reference, ilgpu-cpu, ilgpu-cuda or cuda", DefaultValueFactory = _ => "ilgpu-cpu" };
        var output = new Option<string?>("--out") { Description = "the JSON result (default: bench/results/<device>/<date>-<commit>.json on GPUs, none on CPUs)" };
        var use = new Option<string?>("--use") { Description = "case rows: check (small), bench (model-sized) or emulator (sized for the emulated device); default bench on GPUs, emulator on cuda-emu/ilgpu-emu, check on CPUs" };
        var repeat = new Option<int>("--repeat") { Description = "timed runs per case", DefaultValueFactory = _ => 20 };
        var warmup = new Option<int>("--warmup") { Description = "untimed runs first", DefaultValueFactory = _ => 3 };
        var maxCases = new Option<int>("--max-cases") { Description = "at most this many rows per op (0: all)", DefaultValueFactory = _ => 0 };
        var noCheck = new Option<bool>("--no-check") { Description = "skip the error-vs-reference column" };
        var force = new Option<bool>("--force") { Description = "run even when the largest case (or the stream's model) needs more memory than the machine has" };
        var sample = new Option<int>("--sample-ctas")
        {
            Description = "cuda-emu/ilgpu-emu: run N CTAs of each launch (one per stride of the grid) and scale the counters to the whole grid, "
                + "so model-sized rows (the default --use then) get counters and PREDICTED times; outputs are not computed whole",
            DefaultValueFactory = _ => 0,
        };
        var match = new Option<string?>("--match") { Description = "only the rows whose case label contains this text, e.g. \"Nq=8192\" (case-insensitive)" };
        var cmd = new Command("bench", "Benchmark the ops (and the stream) with device timers; write a JSON result")
        {
            suite, backend, output, use, repeat, warmup, maxCases, noCheck, force, sample, match,
        };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(suite)!, r.GetValue(backend)!, r.GetValue(output), r.GetValue(use),
            r.GetValue(repeat), r.GetValue(warmup), r.GetValue(maxCases), r.GetValue(noCheck), r.GetValue(force), r.GetValue(sample), r.GetValue(match))));
        return cmd;
    }

    // The case-level predictions of the two GPUs the device kit runs on, marked as predictions.
    // With the case's model FLOPs, the predicted rate too (the cost model's operations: integer ones for the INT8 ops).
    private static string Predicted(BenchEmulated em) => em.Predicted is not { } p ? string.Empty : string.Concat(p
        .Where(x => x.Kernel is null && x.Gpu is "h100" or "h200")
        .Select(x => FormattableString.Invariant($", predicted {x.Gpu} {ResultFormat.Significant(x.Ms * 1e3)} us ({x.Bound}")
            + (em.ModelFlops > 0 && x.Ms > 0 ? FormattableString.Invariant($", {ResultFormat.Significant(em.ModelFlops / (x.Ms * 1e-3) / 1e12)} TFLOP/s") : string.Empty) + ")"))
        + (em.SampledCtas > 0 ? FormattableString.Invariant($", from {em.SampledCtas:N0} sampled CTAs") : string.Empty);

    private static int Run(string suiteList, string backendName, string? output, string? useName, int repeat, int warmup, int maxCases, bool noCheck, bool force,
        int sampleCtas, string? match)
    {
        // Every argument is checked before the ceilings are measured (a minute on a CPU): a typo
        // or an unwritable --out costs nothing, in the wording every verb shares.
        CliArgs.AtLeast(repeat, 1, "--repeat");
        CliArgs.AtLeast(warmup, 0, "--warmup");
        CliArgs.AtLeast(maxCases, 0, "--max-cases");
        CliArgs.AtLeast(sampleCtas, 0, "--sample-ctas");
        var suites = Suites(suiteList);
        bool all = suites.Contains("all");
        bool stream = all || suites.Contains("stream");
        var ops = suites.Where(s => s != "stream").SelectMany(BenchSuites.Ops).Distinct().ToArray();
        var kind = BackendKinds.Parse(backendName);
        var use = useName switch
        {
            null => kind.NeedsGpu() || (sampleCtas > 0 && kind.IsEmulated()) ? CaseUse.Bench : kind.IsEmulated() ? CaseUse.Emulator : CaseUse.Check,
            "check" => CaseUse.Check,
            "bench" => CaseUse.Bench,
            "emulator" => CaseUse.Emulator,
            _ => throw new ArgumentException($"--use {useName}: expected check, bench or emulator"),
        };
        if (sampleCtas > 0 && !kind.IsEmulated())
        {
            throw new ArgumentException($"--sample-ctas {sampleCtas}: only the emulated backends (cuda-emu, ilgpu-emu) sample CTAs; {kind.Label()} runs every CTA");
        }
        if (kind.IsEmulated() && stream)
        {
            throw new ArgumentException("--suite stream times streaming blocks; the emulated device counts instead of timing: pick op suites");
        }
        if (output is not null)
        {
            CliArgs.OutputFile(output, "--out");
        }
        var backend = Backends.Get(kind);
        if (output is null && kind.NeedsGpu())
        {
            // GPU results are kept by default; the path is fixed (and checked) now, from the
            // start date, so a run that passes midnight still lands where it was announced.
            output = CliArgs.OutputFile(DefaultPath(BenchRunner.Describe(backend).Name, BenchRunner.Commit(), StartDate()), "--out");
        }
        var options = new BenchOptions { Backend = backend, Ops = ops, Use = use, Repeat = repeat, Warmup = warmup, MaxCasesPerOp = maxCases, CheckError = !noCheck,
            SampleCtas = sampleCtas, Match = match };
        Preflight(options, stream, force);
        AnsiConsole.MarkupLine(Markup.Escape($"zoe bench on {backend}: {ops.Length} ops{(stream ? " + stream" : string.Empty)}, {Spelling(use)} rows, {warmup} warm-up + {repeat} timed runs"));
        // One line per row as it lands (a live table shows nothing in a log until the end).
        // Every number column has one format, three significant digits (ResultFormat): a column
        // spans decades (0.00167 ms beside 44.4 ms), where fixed decimals print 0.002 and 44.434.
        AnsiConsole.MarkupLine(Markup.Escape($"{"op",-24} {"case",-64} {"median ms",10} {"p90 ms",10} {"TFLOP/s",9} {"GB/s",9} {"err",8}"));
        void Row(BenchCase c) => AnsiConsole.MarkupLine(Markup.Escape(c.Emulated is { } em
            // The emulated device counts instead of timing: instructions, coalescing, conflicts, bytes against the model.
            ? FormattableString.Invariant($"{c.Op,-24} {Clip(c.Shape, 64),-64} emulated: {em.WarpInstructions:N0} warp instr, coalescing {em.Coalescing:P0}, bank x{em.BankConflicts:0.00}, moved/model {(em.ModelBytes > 0 ? em.BytesMoved / em.ModelBytes : 0):0.00}{Predicted(em)}")
            : FormattableString.Invariant(
            $"{c.Op,-24} {Clip(c.Shape, 64),-64} {ResultFormat.Significant(c.MedianMs),10} {ResultFormat.Significant(c.P90Ms),10} {ResultFormat.Significant(c.Tflops),9} {ResultFormat.Significant(c.Gbps),9} {(c.ErrorVsReference is { } e ? e.ToString("0.0e+0", CultureInfo.InvariantCulture) : "-"),8}")));
        // With an output file, it holds every row measured so far: a run stopped at a time limit
        // (the device kit's) keeps what it did.
        Action<BenchReport>? save = output is null ? null : partial => BenchReportJson.Write(output, partial);
        var report = BenchRunner.Run(options, Row, save);
        if (stream)
        {
            // --warmup 0 is a smoke run: one block per variant from an empty cache.
            var rows = StreamBench.Measure(backend, warmup == 0 ? 1 : Math.Max(2, Math.Min(repeat, 8)), warm: warmup > 0);
            foreach (var c in rows)
            {
                Row(c);
            }
            report = report with { Cases = [.. report.Cases, .. rows] };
        }
        AnsiConsole.MarkupLine(Markup.Escape($"ceilings: copy {ResultFormat.Significant(report.Ceilings.CopyGbps)} GB/s, GEMM {ResultFormat.Significant(report.Ceilings.GemmTflops)} TFLOP/s ({report.Ceilings.GemmCase})"));
        if (report.Cases.Where(c => c.FractionOfCeiling is not null).MaxBy(c => c.FractionOfCeiling) is { } top)
        {
            // Name the file only when one is written; on CPUs none is unless --out asks for it.
            string where = output is not null ? $"every row's fraction is in {output}" : "--out FILE writes every row's fraction to a JSON result";
            AnsiConsole.MarkupLine(Markup.Escape(FormattableString.Invariant($"closest to a ceiling: {top.Op} {top.Shape} at {ResultFormat.Significant((top.FractionOfCeiling ?? 0) * 100)}% ({where})")));
        }
        if (output is not null)
        {
            BenchReportJson.Write(output, report);
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {output} ({report.Cases.Count} rows)"));
        }
        return 0;
    }

    // The suites named, each one known: an unknown name is refused listing them all.
    private static string[] Suites(string list)
    {
        var suites = list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string known = $"{string.Join(", ", BenchSuites.Names)}, stream, all";
        if (suites.Length == 0)
        {
            throw new ArgumentException($"--suite '{list}': no suite named; suites: {known}");
        }
        foreach (var s in suites)
        {
            if (s is not ("stream" or "all") && !BenchSuites.Names.Contains(s))
            {
                throw new ArgumentException($"--suite {s}: unknown; suites: {known}");
            }
        }
        return suites;
    }

    // The --use spelling, not the enum's name.
    private static string Spelling(CaseUse use) => use switch
    {
        CaseUse.Check => "check",
        CaseUse.Bench => "bench",
        CaseUse.Emulator => "emulator",
        _ => use.ToString().ToLowerInvariant(),
    };

    private static string StartDate() => DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    // Memory, before the ceilings: the largest case row (its rotating input sets, their host
    // copies, the reference's f64 staging) and, for the stream suite, the model it streams.
    private static void Preflight(BenchOptions options, bool stream, bool force)
    {
        var backend = options.Backend;
        var limit = MemoryPreflight.Detect(backend);
        if (options.Ops.Count > 0 && !backend.Kind.IsEmulated())
        {
            var (backendBytes, hostBytes, row) = BenchRunner.PeakCaseBytes(options);
            bool onHost = !backend.Kind.NeedsGpu();
            long host = hostBytes + (onHost ? backendBytes : 0);
            string need = onHost
                ? $"{MemoryPreflight.Bytes(host)} host"
                : $"{MemoryPreflight.Bytes(backendBytes)} on the GPU + {MemoryPreflight.Bytes(hostBytes)} host";
            AnsiConsole.MarkupLine(Markup.Escape($"memory estimate: the largest case row ({row}) holds about {need}"));
            const string parts = "the case's rotating sets, host copies and f64 staging";
            var over = MemoryPreflight.Over(limit, host, parts, onHost ? null : backendBytes, parts);
            MemoryPreflight.Enforce(AnsiConsole.Console, over, force, $"zoe bench on {backend.Kind.Label()}: {row}");
        }
        if (stream)
        {
            MemoryPreflight.Check(AnsiConsole.Console, StreamBench.Estimate(backend.Kind), limit, force, $"zoe bench --suite stream on {backend.Kind.Label()}");
        }
    }

    private static string Clip(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";

    /// <summary>bench/results/&lt;device slug&gt;/&lt;yyyy-mm-dd&gt;-&lt;commit&gt;.json.</summary>
    internal static string DefaultPath(BenchReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return DefaultPath(report.Device.Name, report.Commit, report.Date[..10]);
    }

    /// <summary>bench/results/&lt;device slug&gt;/&lt;date&gt;-&lt;commit&gt;.json for a run not yet made.</summary>
    public static string DefaultPath(string deviceName, string commit, string date)
    {
        ArgumentNullException.ThrowIfNull(commit);
        ArgumentNullException.ThrowIfNull(date);
        return Path.Combine("bench", "results", Slug(deviceName), $"{date}-{commit}.json");
    }

    /// <summary>A folder name for a device: lower case, runs of other characters as one dash.</summary>
    public static string Slug(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray();
        return string.Join('-', new string(chars).Split('-', StringSplitOptions.RemoveEmptyEntries));
    }
}
