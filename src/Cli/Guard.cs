using Spectre.Console;
using Zoetrope.Runtime;

namespace Zoetrope.Cli;

/// <summary>Turns the library's typed errors into one line on stderr and an exit code.</summary>
public static class Guard
{
    /// <summary>Exit code for a typed error (bad input, missing device, corrupt file).</summary>
    public const int ErrorExit = 2;

    /// <summary>Exit code for an unexpected failure (a bug): reported in one line, never a crash.</summary>
    public const int InternalErrorExit = 3;

    /// <summary>Prints <c>error: message</c> (and optional further lines) on stderr; returns <see cref="ErrorExit"/>.</summary>
    public static int Error(string message, params string[] more)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        // One error, one line: a message names tensors and shapes, and wrapping at 80 columns breaks them (and grep).
        console.Profile.Width = 100_000;
        console.MarkupLine($"[red]error:[/] {Markup.Escape(message)}");
        foreach (var line in more)
        {
            console.MarkupLine(Markup.Escape(line));
        }
        return ErrorExit;
    }

    /// <summary>Runs <paramref name="action"/>, mapping typed exceptions to <see cref="ErrorExit"/>.</summary>
    public static int Run(Func<int> action)
    {
        try
        {
            return action();
        }
        catch (Exception e) when (e is ZoetropeDeviceException or ZoetropeFormatException or Zoetrope.Engine.ZoetropeWeightsException or Zoetrope.Engine.ZoetropeStreamException or ArgumentException
            or NotSupportedException or FileNotFoundException or DirectoryNotFoundException or IOException)
        {
            return Error(CliArgs.Plain(e.Message));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug, not bad input: say what it was; ZOE_DEBUG=1 prints the stack for a report.
            Console.Error.WriteLine($"internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("ZOE_DEBUG") == "1")
            {
                Console.Error.WriteLine(e);
            }
            return InternalErrorExit;
        }
    }
}
