using Spectre.Console;

namespace Zoetrope.Tests.Cli;

/// <summary>What one in-process <c>zoe</c> run returned and printed.</summary>
/// <param name="Exit">The exit code.</param>
/// <param name="Out">Everything written to stdout (Spectre's console included).</param>
/// <param name="Err">Everything written to stderr.</param>
internal sealed record ZoeRun(int Exit, string Out, string Err)
{
    public override string ToString() => $"exit {Exit}\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>
/// Runs <c>zoe</c> in-process with stdout and stderr captured, so a test can assert on the
/// message (which tensor, which option, which value) and an expected failure prints nothing
/// into the test log.
/// </summary>
internal static class Zoe
{
    private static readonly object Gate = new();

    public static ZoeRun Run(params string[] args)
    {
        lock (Gate)
        {
            var oldOut = Console.Out;
            var oldErr = Console.Error;
            var oldAnsi = AnsiConsole.Console;
            using var output = new StringWriter();
            using var error = new StringWriter();
            try
            {
                Console.SetOut(output);
                Console.SetError(error);
                AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
                {
                    Out = new AnsiConsoleOutput(output),
                    Ansi = AnsiSupport.No,
                    ColorSystem = ColorSystemSupport.NoColors,
                    Interactive = InteractionSupport.No,
                });
                AnsiConsole.Profile.Width = 200;
                int exit = Zoetrope.Cli.Program.Main(args);
                return new ZoeRun(exit, output.ToString(), error.ToString());
            }
            finally
            {
                Console.SetOut(oldOut);
                Console.SetError(oldErr);
                AnsiConsole.Console = oldAnsi;
            }
        }
    }

    /// <summary>Runs and returns only the exit code (output still captured, never printed).</summary>
    public static int Exit(params string[] args) => Run(args).Exit;
}
