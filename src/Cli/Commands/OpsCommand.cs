using System.CommandLine;
using Spectre.Console;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Checking;
using Zoetrope.Runtime.Execution;
using Zoetrope.Runtime.IO;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe ops [op]</c>: what each op takes and makes. Without an op, one row per op; with one,
/// its tensors (dtypes and ranks as its case table uses them, optional ones marked), its
/// attributes (type, default, allowed values, meaning), its backends and ILGPU kernels, and a
/// ready-to-paste <c>run-op</c> line over the files <c>zoe run-op OP --make-inputs DIR</c>
/// writes. Everything comes from the op's registration (<see cref="OpContract"/>); nothing here
/// is kept by hand.
/// </summary>
public static class OpsCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var op = new Argument<string?>("op") { Description = "an op name (default: list every op)", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("ops", "Show each op's inputs, outputs, attributes, backends and a run-op example") { op };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(op))));
        return cmd;
    }

    private static int Run(string? name)
    {
        if (name is null)
        {
            var table = new Table().Border(TableBorder.Rounded).AddColumns("op", "inputs", "outputs", "attributes", "backends");
            foreach (var info in OpCatalog.All)
            {
                var c = info.Contract;
                table.AddRow(info.Name,
                    Markup.Escape(string.Join(", ", c.Reads.Select(t => t.Optional ? $"[{t.Name}]" : t.Name))),
                    Markup.Escape(string.Join(", ", c.Writes.Select(t => t.Optional ? $"[{t.Name}]" : t.Name))),
                    Markup.Escape(string.Join(", ", c.Attributes.Select(a => a.Name))),
                    Backends(info));
            }
            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine("[grey][[name]] is optional; zoe ops <op> shows dtypes, shapes, attribute values and a run-op line[/]");
            return 0;
        }
        Describe(OpCatalog.Get(name));
        return 0;
    }

    private static void Describe(IOpInfo op)
    {
        var c = op.Contract;
        AnsiConsole.MarkupLine($"[bold]{op.Name}[/]: {Markup.Escape(op.Summary)}");
        var tensors = new Table().Border(TableBorder.Rounded).Title("tensors").AddColumns("name", "role", "dtypes", "rank", "example shape", "");
        foreach (var t in c.Tensors)
        {
            tensors.AddRow(t.Name, t.Role.ToString().ToLowerInvariant(), t.DTypeText, string.Join(" or ", t.Ranks), Markup.Escape(t.Example.ToString()), t.Optional ? "optional" : string.Empty);
        }
        AnsiConsole.Write(tensors);
        if (c.Attributes.Count == 0)
        {
            AnsiConsole.MarkupLine("attributes: none");
        }
        else
        {
            var attrs = new Table().Border(TableBorder.Rounded).Title("attributes (--attr name=value)").AddColumns("name", "type", "default", "allowed", "meaning");
            foreach (var a in c.Attributes)
            {
                attrs.AddRow(a.Name, a.TypeName, Markup.Escape(a.DefaultText), Markup.Escape(a.AllowedText.Length > 0 ? a.AllowedText : "any"), Markup.Escape(a.Description));
            }
            AnsiConsole.Write(attrs);
        }
        AnsiConsole.MarkupLine($"backends: {string.Join(", ", op.Backends.Select(b => b.Label()))}");
        AnsiConsole.MarkupLine(Markup.Escape($"ILGPU kernels: {(op.Kernels.Count == 0 ? "none" : string.Join(", ", op.Kernels.Select(k => k.Label)))}"));
        AnsiConsole.MarkupLine(Markup.Escape($"dtypes and ranks are those of the op's {c.Cases.Count} cases (zoe check runs them); an input outside them is refused."));
        var example = DefaultCase(op);
        AnsiConsole.MarkupLine(Markup.Escape($"example (case {example.Index}: {example.Label}):"));
        AnsiConsole.MarkupLine(Markup.Escape($"  zoe run-op {op.Name} --make-inputs DIR --case {example.Index}"));
        AnsiConsole.MarkupLine(Markup.Escape($"  {RunOpLine(op, example.Instance, "DIR")}"));
    }

    private static string Backends(IOpInfo op) =>
        op.Backends.Count == BackendKinds.All.Count ? "all" : string.Join(", ", op.Backends.Select(b => b.Label()));

    /// <summary>The case --make-inputs uses without --case: the first one sized for a CPU check.</summary>
    public static OpCaseInstance DefaultCase(IOpInfo op)
    {
        ArgumentNullException.ThrowIfNull(op);
        var cases = op.Cases();
        return cases.FirstOrDefault(c => c.Use.HasFlag(CaseUse.Check) && !c.Masked) ?? cases[0];
    }

    /// <summary>The case numbered <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentException">No such case; the message gives the range.</exception>
    public static OpCaseInstance Case(IOpInfo op, int index)
    {
        ArgumentNullException.ThrowIfNull(op);
        var cases = op.Cases();
        return index >= 0 && index < cases.Count
            ? cases[index]
            : throw new ArgumentException($"--case {index}: op '{op.Name}' has cases 0..{cases.Count - 1} (zoe check --op {op.Name} lists them)");
    }

    /// <summary>Writes the inputs of <paramref name="c"/> (the values zoe check draws for it) as DIR/name.npy.</summary>
    public static IReadOnlyList<string> MakeInputs(IOpInfo op, OpCaseInstance c, string dir)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(c);
        var inputs = InputFactory.HostInputs(c.Instance.Signature, InputFactory.StableSeed(new CheckOptions().Seed, op.Name, c.Index), c.Masked);
        var written = new List<string>();
        try
        {
            foreach (var (name, tensor) in inputs)
            {
                string path = Path.Combine(dir, $"{name}.npy");
                Npy.Write(path, tensor);
                written.Add(path);
            }
        }
        finally
        {
            foreach (var t in inputs.Values)
            {
                t.Dispose();
            }
        }
        return written;
    }

    /// <summary>The run-op command line for <paramref name="instance"/> with inputs and outputs in <paramref name="dir"/>.</summary>
    public static string RunOpLine(IOpInfo op, OpInstance instance, string dir)
    {
        ArgumentNullException.ThrowIfNull(op);
        ArgumentNullException.ThrowIfNull(instance);
        var parts = new List<string> { "zoe", "run-op", op.Name };
        foreach (var t in instance.Signature.Reads)
        {
            parts.Add("--in");
            parts.Add(Quote($"{t.Name}={Path.Combine(dir, t.Name + ".npy")}"));
        }
        foreach (var (name, value) in instance.Attributes)
        {
            parts.Add("--attr");
            parts.Add(Quote($"{name}={value}"));
        }
        foreach (var t in instance.Signature.Writes)
        {
            parts.Add("--out");
            parts.Add(Quote($"{t.Name}={Path.Combine(dir, "out_" + t.Name + ".npy")}"));
        }
        parts.Add("--check");
        return string.Join(' ', parts);
    }

    private static string Quote(string s) => s.Any(ch => char.IsWhiteSpace(ch) || ch is '\'' or '"' or '$' or '`' or '\\') ? $"'{s.Replace("'", "'\\''", StringComparison.Ordinal)}'" : s;
}
