using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace Zoetrope.Cli.Reporting;

/// <summary>
/// Progress for work that can take more than a few seconds (drawing or loading weights, building
/// the model, encoding a prompt, a block). On an interactive terminal: Spectre's live progress bar,
/// cleared when the work ends. Redirected (CI logs, tests, a pipe): no animation and no escape
/// codes, only plain lines, and only for slow work: nothing in the first
/// <see cref="PlainProgress.Quiet"/>, then one line every <see cref="PlainProgress.Interval"/>.
/// </summary>
public static class WorkProgress
{
    /// <summary>Runs <paramref name="work"/> under a progress display titled <paramref name="what"/>; returns its result.</summary>
    /// <remarks><paramref name="work"/> may report fractions in [0, 1] from any thread; it may report nothing (the display then shows time only).</remarks>
    public static T Run<T>(IAnsiConsole console, string what, Func<IProgress<double>, T> work)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        if (!Live(console))
        {
            using var plain = new PlainProgress(console, what, Stopwatch.StartNew());
            using var timer = new Timer(_ => plain.Tick(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
            return work(plain);
        }
        return console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(what), maxValue: 1);
                task.IsIndeterminate = true;
                var result = work(new Progress(task));
                task.Value = 1;
                return result;
            });
    }

    /// <summary>Runs <paramref name="work"/> under a progress display titled <paramref name="what"/>.</summary>
    public static void Run(IAnsiConsole console, string what, Action<IProgress<double>> work)
    {
        ArgumentNullException.ThrowIfNull(work);
        Run(console, what, p =>
        {
            work(p);
            return 0;
        });
    }

    /// <summary>True when the console can redraw a live display (interactive and ANSI); false for logs and pipes.</summary>
    public static bool Live(IAnsiConsole console)
    {
        ArgumentNullException.ThrowIfNull(console);
        return console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi;
    }

    // A live task: the first report turns the spinner-only display into a bar.
    private sealed class Progress(ProgressTask task) : IProgress<double>
    {
        public void Report(double value)
        {
            task.IsIndeterminate = false;
            task.Value = Math.Clamp(value, 0, 1);
        }
    }
}

/// <summary>
/// Progress as plain lines for logs: <c>what: 40% (12 s)</c>, or <c>what: running (12 s)</c> when
/// nothing was reported, printed by <see cref="Tick"/> no earlier than <see cref="Quiet"/> after the
/// start and then at most every <see cref="Interval"/>, so quick work prints nothing and slow work
/// shows it is alive without flooding the log.
/// </summary>
public sealed class PlainProgress : IProgress<double>, IDisposable
{
    private readonly IAnsiConsole _console;
    private readonly string _what;
    private readonly Stopwatch _clock;
    private readonly object _gate = new();
    private double _fraction = double.NaN;
    private TimeSpan _next;
    private bool _done;

    /// <summary>Progress of <paramref name="what"/>, timed by <paramref name="clock"/> (started by the caller).</summary>
    public PlainProgress(IAnsiConsole console, string what, Stopwatch clock)
    {
        _console = console ?? throw new ArgumentNullException(nameof(console));
        _what = what ?? throw new ArgumentNullException(nameof(what));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _next = Quiet;
    }

    /// <summary>Nothing is printed before this much time has passed.</summary>
    public static TimeSpan Quiet { get; } = TimeSpan.FromSeconds(5);

    /// <summary>The least time between two lines.</summary>
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(10);

    /// <inheritdoc />
    public void Report(double value)
    {
        lock (_gate)
        {
            _fraction = Math.Max(double.IsNaN(_fraction) ? 0 : _fraction, Math.Clamp(value, 0, 1));
        }
    }

    /// <summary>Prints a line when one is due at <paramref name="elapsed"/> (the clock's time when omitted); returns whether it did.</summary>
    public bool Tick(TimeSpan? elapsed = null)
    {
        lock (_gate)
        {
            var now = elapsed ?? _clock.Elapsed;
            if (_done || now < _next)
            {
                return false;
            }
            _next = now + Interval;
            string state = double.IsNaN(_fraction) ? "running" : (_fraction * 100).ToString("0", CultureInfo.InvariantCulture) + "%";
            _console.MarkupLine(Markup.Escape($"  {_what}: {state} ({now.TotalSeconds.ToString("0", CultureInfo.InvariantCulture)} s)"));
            return true;
        }
    }

    /// <summary>Stops printing (the work is over).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _done = true;
        }
    }
}
