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
            OpsCommand.Create(),
            CheckCommand.Create(),
            EmuCompareCommand.Create(),
            RunOpCommand.Create(),
            PtxCommand.Create(),
            StreamCommand.Create(),
            GenerateCommand.Create(),
            BenchCommand.Create(),
            CompareCommand.Create(),
            ProfileCommand.Create(),
            ConvertCommand.Create(),
        };
        return Guard.Run(() =>
        {
            var parsed = root.Parse(args);
            if (parsed.Errors.Count == 0)
            {
                return parsed.Invoke();
            }
            // A usage error is a typed error like any other: exit 2, the errors, one usage line
            // (not the whole help, which buries the error).
            var verb = parsed.CommandResult.Command;
            string path = verb == root ? "zoe" : $"zoe {verb.Name}";
            return Guard.Error(
                string.Join("; ", parsed.Errors.Select(e => e.Message)),
                $"usage: {path} {(verb == root ? "<verb>" : string.Empty)}{Usage(verb)}  ({path} --help lists {(verb == root ? "the verbs" : "every option")})");
        });
    }

    private static string Usage(Command verb)
    {
        var args = verb.Arguments.Select(a => $"<{a.Name}> ");
        var required = verb.Options.Where(o => o.Required).Select(o => $"{o.Name} <value> ");
        return string.Concat(args.Concat(required)) + (verb.Options.Any(o => !o.Required) ? "[options]" : string.Empty);
    }
}
