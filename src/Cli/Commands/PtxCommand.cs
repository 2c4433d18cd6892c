using System.CommandLine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe ptx</c>: the PTX that ILGPU generates for an op's kernels, with no GPU needed. With
/// <c>--out DIR</c> each kernel goes to its own .ptx file (CI assembles them with ptxas). The
/// architecture is one ILGPU writes as <c>.target</c> unchanged, or the request is refused naming
/// ILGPU's cap (<see cref="PtxCompiler"/>); every banner names the <c>.target</c> emitted.
/// </summary>
public static class PtxCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        string archs = string.Join(", ", PtxCompiler.Architectures.Select(PtxCompiler.Name));
        string cap = PtxCompiler.Name(PtxCompiler.Cap);
        var op = new Argument<string>("op") { Description = "op name, or 'all'" };
        var arch = new Option<string>("--arch")
        {
            Description = $"the .target architecture: {archs} (ILGPU's PTX backend targets at most {cap}; that PTX runs on newer GPUs, which JIT-compile it, and ptxas assembles it for sm_89/sm_90)",
            DefaultValueFactory = _ => PtxCompiler.Name(PtxCompiler.Architectures[^1]),
        };
        var isa = new Option<string>("--isa") { Description = "PTX ISA version of the output (7.8 assembles with every CUDA from 11.8; CI assembles with 12.4)", DefaultValueFactory = _ => "7.8" };
        var outDir = new Option<string?>("--out") { Description = "write one .ptx file per kernel into this folder (created when missing) instead of printing" };
        var cmd = new Command("ptx", "Print the PTX ILGPU generates for an op's kernels") { op, arch, isa, outDir };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(op)!, r.GetValue(arch)!, r.GetValue(isa)!, r.GetValue(outDir))));
        return cmd;
    }

    private static int Run(string opName, string arch, string isa, string? outDir)
    {
        // Every argument is checked before the first kernel compiles.
        var ops = opName == "all" ? OpCatalog.All : [OpCatalog.Get(opName)];
        if (opName != "all" && ops[0].Kernels.Count == 0)
        {
            throw new ArgumentException($"op '{ops[0].Name}' declares no ILGPU kernels");
        }
        var target = PtxCompiler.Resolve(arch, isa);
        if (outDir is not null)
        {
            CliArgs.OutputDirectory(outDir, "--out");
        }
        int count = 0;
        foreach (var op in ops)
        {
            foreach (var kernel in op.Kernels)
            {
                string ptx = PtxCompiler.Compile(kernel, target);
                if (outDir is null)
                {
                    Console.WriteLine($"// ---- {op.Name}: {kernel.Label} (.target {target.Name}, PTX ISA {target.Isa})");
                    Console.WriteLine(ptx);
                }
                else
                {
                    string file = Path.Combine(outDir, $"{op.Name}.{Sanitize(kernel.Label)}.ptx");
                    File.WriteAllText(file, ptx);
                    Console.WriteLine(file);
                }
                count++;
            }
        }
        Console.Error.WriteLine($"{count} kernel(s) compiled to PTX for .target {target.Name}, PTX ISA {target.Isa}");
        return 0;
    }

    private static string Sanitize(string label) =>
        new(label.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
}
