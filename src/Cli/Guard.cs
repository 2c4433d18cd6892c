using Spectre.Console;
using Zoetrope.Runtime;

namespace Zoetrope.Cli;

/// <summary>Turns the library's typed errors into one line on stderr and an exit code.</summary>
public static class Guard
{
    /// <summary>Exit code for a typed error (bad input, missing device, corrupt file).</summary>
    public const int ErrorExit = 2;

    /// <summary>Runs <paramref name="action"/>, mapping typed exceptions to <see cref="ErrorExit"/>.</summary>
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ZoetropeDeviceException or ZoetropeFormatException or ArgumentException
            or NotSupportedException or FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            console.MarkupLine($"[red]error:[/] {Markup.Escape(e.Message)}");
            return ErrorExit;
        }
    }
}
