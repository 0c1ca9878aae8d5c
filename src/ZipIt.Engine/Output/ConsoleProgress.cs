using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace ZipIt.Engine.Output;

/// <summary>
/// The progress of one long loop on stderr: a live bar with ETA (Spectre.Console) on a terminal, a
/// plain line at every tenth of the work on a non-terminal (<see cref="ProgressMode.Lines"/>), or
/// nothing, by the command's <see cref="ProgressDisplay"/>.
/// </summary>
internal sealed class ConsoleProgress
{
    private readonly ProgressTask? _task;
    private readonly LineProgress? _lines;

    private ConsoleProgress(ProgressTask? task, LineProgress? lines)
    {
        _task = task;
        _lines = lines;
    }

    /// <summary>Advances the progress to <paramref name="value"/> (of the total) with <paramref name="status"/> beside it.</summary>
    public void Report(double value, string status)
    {
        if (_task is not null)
        {
            _task.Value = value;
            _task.Description = Markup.Escape(status);
        }
        _lines?.Report(value, status);
    }

    public static T Run<T>(TextWriter error, ProgressMode mode, string description, double total, Func<ConsoleProgress, T> work)
    {
        switch (mode)
        {
            case ProgressMode.Lines:
            {
                var lines = new LineProgress(error, description, total);
                var value = work(new ConsoleProgress(null, lines));
                lines.Finish();
                return value;
            }
            case ProgressMode.Bar:
            {
                var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
                T result = default!;
                console.Progress()
                    .AutoClear(true)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(ctx => result = work(new ConsoleProgress(ctx.AddTask(Markup.Escape(description), maxValue: total), null)));
                return result;
            }
            default:
                return work(new ConsoleProgress(null, null));
        }
    }

    /// <summary>Progress for a log: one line each time the work passes another tenth, with the time left at the rate so far.</summary>
    private sealed class LineProgress(TextWriter error, string description, double total)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _tenths;
        private string _status = description;

        public void Report(double value, string status)
        {
            _status = status;
            var tenths = total <= 0 ? 10 : (int)Math.Floor(10 * Math.Min(value, total) / total);
            if (tenths <= _tenths || tenths >= 10) return;
            _tenths = tenths;
            var elapsed = _clock.Elapsed.TotalSeconds;
            var left = elapsed * (total - value) / Math.Max(value, 1e-9);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{status}: {10 * tenths}%, ETA {DurationText.Format(left)}"));
        }

        public void Finish()
        {
            error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{_status}: 100% in {DurationText.Format(_clock.Elapsed.TotalSeconds)}"));
            error.Flush();
        }
    }
}
