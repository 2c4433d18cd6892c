using System.CommandLine;
using Zoetrope.Runtime;
using Zoetrope.Runtime.Ops;

namespace Zoetrope.Cli.Commands;

/// <summary>
/// <c>zoe ptx</c>: the PTX that ILGPU generates for an op's kernels, with no GPU needed. With
/// <c>--out DIR</c> each kernel goes to its own .ptx file (CI assembles them with ptxas).
/// </summary>
public static class PtxCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create()
    {
        var op = new Argument<string>("op") { Description = "op name, or 'all'" };
        var arch = new Option<string>("--arch") { Description = "target architecture", DefaultValueFactory = _ => "sm_90" };
        var isa = new Option<string>("--isa") { Description = "PTX ISA version of the output (7.8 assembles with every CUDA from 11.8; CI assembles with 12.4)", DefaultValueFactory = _ => "7.8" };
        var outDir = new Option<string?>("--out") { Description = "write one .ptx file per kernel into this folder instead of printing" };
        var cmd = new Command("ptx", "Print the PTX ILGPU generates for an op's kernels") { op, arch, isa, outDir };
        cmd.SetAction(r => Guard.Run(() => Run(r.GetValue(op)!, r.GetValue(arch)!, r.GetValue(isa)!, r.GetValue(outDir))));
        return cmd;
    }

    private static int Run(string opName, string arch, string isa, string? outDir)
    {
        var ops = opName == "all" ? OpCatalog.All : [OpCatalog.Get(opName)];
        if (outDir is not null)
        {
            Directory.CreateDirectory(outDir);
        }
        int count = 0;
        foreach (var op in ops)
        {
            if (op.Kernels.Count == 0 && opName != "all")
            {
                throw new ArgumentException($"op '{op.Name}' declares no ILGPU kernels");
            }
            foreach (var kernel in op.Kernels)
            {
                string ptx = PtxCompiler.Compile(kernel, arch, isa);
                if (outDir is null)
                {
                    Console.WriteLine($"// ---- {op.Name}: {kernel.Label} ({arch}, PTX ISA {isa})");
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
        Console.Error.WriteLine($"{count} kernel(s) compiled to PTX for {arch}");
        return 0;
    }

    private static string Sanitize(string label) =>
        new(label.Select(c => char.IsLetterOrDigit(c) ? c : '_').ToArray());
}
