// zoe: the command line of Zoetrope. Each verb lives in Commands/ and registers itself here;
// the typed errors of the library (device, file format, argument) end the process with a clear
// one-line message and exit code 2, never a stack trace.
using System.CommandLine;
using Zoetrope.Cli.Commands;

namespace Zoetrope.Cli;

/// <summary>Entry point.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the verb.</summary>
    public static int Main(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Logs and CI: do not wrap tables at the default 80 columns.
            Spectre.Console.AnsiConsole.Profile.Width = 200;
        }
        var root = new RootCommand("zoe: Zoetrope's kernels, harness and benchmarks for real-time video diffusion")
        {
            InfoCommand.Create(),
            CheckCommand.Create(),
            EmuCompareCommand.Create(),
            RunOpCommand.Create(),
            PtxCommand.Create(),
            StreamCommand.Create(),
            BenchCommand.Create(),
            CompareCommand.Create(),
            ProfileCommand.Create(),
        };
        return Guard.Run(() => root.Parse(args).Invoke());
    }
}
