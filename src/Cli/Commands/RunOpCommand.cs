using System.CommandLine;
using Spectre.Console;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.IO;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe run-op</c>: one op on the user's own .npy data. Binds the op's parameters from the
/// inputs and <c>--attr</c> values, runs it on the chosen backend (warm-up, then N timed runs
/// between device markers), writes the outputs, and prints the median/min/p90 time with the
/// achieved GB/s and TFLOP/s. <c>--check</c> also compares every output with the reference.
/// </summary>
public static class RunOpCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var op = new Argument<string>("op") { Description = "op name (zoe ops lists them and shows each one's inputs and attributes)" };
        var inputs = new Option<string[]>("--in") { Description = "an input: name=file.npy (repeatable)", AllowMultipleArgumentsPerToken = false, Arity = ArgumentArity.ZeroOrMore };
        var outputs = new Option<string[]>("--out") { Description = "an output: [name=]file.npy (repeatable; a bare path names the op's only output)", Arity = ArgumentArity.ZeroOrMore };
        var attrs = new Option<string[]>("--attr") { Description = "an op attribute: name=value (repeatable), e.g. --attr a=2; zoe ops <op> lists them", Arity = ArgumentArity.ZeroOrMore };
        var backend = new Option<string>("--backend") { Description = "backend to run on", DefaultValueFactory = _ => "ilgpu-cpu" };
        var repeat = new Option<int>("--repeat") { Description = "timed repetitions (median reported)", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "untimed runs first (compilation, caches)", DefaultValueFactory = _ => 2 };
        var check = new Option<bool>("--check") { Description = "compare every output with the reference and fail above the op's tolerance" };
        var make = new Option<string?>("--make-inputs") { Description = "write a case's inputs as DIR/<name>.npy (the values zoe check draws) and print the run-op line for them; runs nothing" };
        var caseIndex = new Option<int?>("--case") { Description = "with --make-inputs: the case number (default: the first CPU-sized case)" };
        var cmd = new Command("run-op", "Run one op on your .npy inputs, time it, write its outputs")
        {
            op, inputs, outputs, attrs, backend, repeat, warmup, check, make, caseIndex,
        };
        cmd.SetAction(r => Guard.Run(() => r.GetValue(make) is { } dir
            ? MakeInputs(r.GetValue(op)!, dir, r.GetValue(caseIndex), r.GetValue(inputs) ?? [], r.GetValue(attrs) ?? [])
            : Run(r.GetValue(op)!, r.GetValue(inputs) ?? [], r.GetValue(outputs) ?? [], r.GetValue(attrs) ?? [],
                r.GetValue(backend)!, r.GetValue(repeat), r.GetValue(warmup), r.GetValue(check), r.GetValue(caseIndex))));
        return cmd;
    }

    private static int MakeInputs(string opName, string dir, int? caseIndex, string[] ins, string[] attrs)
    {
        var op = OpCatalog.Get(opName);
        if (ins.Length > 0 || attrs.Length > 0)
        {
            throw new ArgumentException("--make-inputs writes a case's inputs and attributes itself: leave out --in and --attr");
        }
        CliArgs.OutputDirectory(dir, "--make-inputs");
        var c = caseIndex is { } i ? OpsCommand.Case(op, i) : OpsCommand.DefaultCase(op);
        foreach (var path in OpsCommand.MakeInputs(op, c, dir))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"wrote {path}"));
        }
        AnsiConsole.MarkupLine(Markup.Escape($"case {c.Index} of {op.Name}: {c.Label}; run it with:"));
        Console.WriteLine(OpsCommand.RunOpLine(op, c.Instance, dir));
        return 0;
    }

    private static int Run(string opName, string[] ins, string[] outs, string[] attrs, string backendName, int repeat, int warmup, bool check, int? caseIndex)
    {
        var op = OpCatalog.Get(opName);
        CliArgs.AtLeast(repeat, 1, "--repeat");
        CliArgs.AtLeast(warmup, 0, "--warmup");
        if (caseIndex is not null)
        {
            throw new ArgumentException("--case goes with --make-inputs");
        }
        var kind = BackendKinds.Parse(backendName);
        if (ins.Length == 0)
        {
            throw new ArgumentException(
                $"op '{op.Name}' needs --in name=file.npy for {string.Join(", ", op.Contract.Reads.Where(r => !r.Optional).Select(r => r.Name))} " +
                $"(zoe ops {op.Name} shows them; zoe run-op {op.Name} --make-inputs DIR writes a set)");
        }
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in attrs.Select(a => Pair(a, "--attr", null)))
        {
            if (!attributes.TryAdd(name, value))
            {
                throw new ArgumentException($"--attr {name} given twice");
            }
        }
        var inputPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, path) in ins.Select(i => Pair(i, "--in", null)))
        {
            if (!inputPaths.TryAdd(name, CliArgs.InputFile(path, $"--in {name}=")))
            {
                throw new ArgumentException($"--in {name} given twice");
            }
        }
        var hostInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, path) in inputPaths)
            {
                hostInputs[name] = Npy.Read(path);
            }
            return Run(op, hostInputs, outs, attributes, kind, repeat, warmup, check);
        }
        finally
        {
            foreach (var t in hostInputs.Values)
            {
                t.Dispose();
            }
        }
    }

    private static int Run(IOpInfo op, Dictionary<string, Tensor> hostInputs, string[] outs, Dictionary<string, string> attributes, BackendKind kind, int repeat, int warmup, bool check)
    {
        var instance = op.Bind(new OpBinding(op.Name, hostInputs, attributes));
        var sig = instance.Signature;
        var writes = sig.Writes.ToList();
        var outPaths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var spec in outs)
        {
            var (name, path) = Pair(spec, "--out", writes.Count == 1 ? writes[0].Name : null);
            if (!writes.Any(w => w.Name == name))
            {
                throw new ArgumentException($"op '{op.Name}' has no output '{name}' (outputs: {string.Join(", ", writes.Select(w => w.Name))})");
            }
            outPaths[name] = CliArgs.OutputFile(path, $"--out {name}=");
        }

        var backend = Backends.Get(kind);
        var tensors = new OpTensors();
        var owned = new List<Tensor>();
        try
        {
            foreach (var spec in sig.Tensors)
            {
                var t = spec.IsRead ? hostInputs[spec.Name].To(backend, spec.Name) : backend.Allocate(spec.DType, spec.Shape, spec.Name);
                owned.Add(t);
                tensors.Add(spec.Name, t);
            }
            // In-outs are updated by every run; time on a scratch copy so the written result is one run's.
            using var notes = OpNotes.Collect();
            var stats = TimingStats.Measure(backend, () => instance.Run(backend, tensors), warmup, repeat);
            foreach (var spec in sig.Tensors.Where(s => s.Role == TensorRole.InOut))
            {
                tensors[spec.Name].CopyFrom(hostInputs[spec.Name]);
            }
            instance.Run(backend, tensors);
            backend.Synchronize();

            var cost = instance.Cost;
            var table = new Table().Border(TableBorder.Rounded).AddColumns("op", "case", "backend", "median ms", "min ms", "p90 ms", "GB/s", "TFLOP/s");
            table.AddRow(op.Name, Markup.Escape(instance.Label), backend.Name, $"{stats.MedianMs:0.000}", $"{stats.MinMs:0.000}", $"{stats.P90Ms:0.000}",
                $"{cost.GBps(stats.MedianMs):0.0}", $"{cost.Tflops(stats.MedianMs):0.000}");
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine($"[grey]{stats.Iterations} timed runs after {warmup} warm-up; {(backend.Kind.NeedsGpu() ? "CUDA events" : "stopwatch around a synchronize")}[/]");
            foreach (var note in notes.Notes)
            {
                AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]");
            }

            foreach (var (name, path) in outPaths)
            {
                Npy.Write(path, tensors[name]);
                AnsiConsole.MarkupLine(Markup.Escape($"wrote {name} {tensors[name].DType.Name()}{tensors[name].Shape} to {path}"));
            }
            return check ? Check(op, instance, hostInputs, tensors) : 0;
        }
        finally
        {
            foreach (var t in owned)
            {
                t.Dispose();
            }
        }
    }

    private static int Check(IOpInfo op, OpInstance instance, Dictionary<string, Tensor> hostInputs, OpTensors tensors)
    {
        var expected = ReferenceRunner.Run(instance, hostInputs);
        bool ok = true;
        foreach (var spec in instance.Signature.Writes)
        {
            var tol = spec.ComparesExactly ? Tolerance.Exact : spec.Tolerance ?? op.Tolerances.For(spec.DType);
            var m = ErrorMetrics.Compare(expected[spec.Name], tensors[spec.Name].ToDoubles());
            bool pass = m.FirstNonFinite < 0 && (tol.IsExact ? m.Mismatches == 0 : m.RelL2 <= tol.RelL2 && (tol.MaxAbs <= 0 || m.MaxAbs <= tol.MaxAbs));
            ok &= pass;
            AnsiConsole.MarkupLine($"check {Markup.Escape(spec.Name)}: relL2 {m.RelL2:0.00e+0}, max abs {m.MaxAbs:0.00e+0} ({tol}) {(pass ? "[green]pass[/]" : "[red]FAIL[/]")}");
        }
        return ok ? 0 : 1;
    }

    private static (string Name, string Value) Pair(string text, string option, string? defaultName)
    {
        int eq = text.IndexOf('=');
        if (eq > 0)
        {
            return (text[..eq], text[(eq + 1)..]);
        }
        if (defaultName is not null)
        {
            return (defaultName, text);
        }
        throw new ArgumentException($"{option} {text}: expected name=value");
    }
}
