using Spectre.Console;

namespace ZipIt.Output;

/// <summary>
/// A progress bar on stderr (Spectre.Console) for long loops, shown only when stderr is a terminal
/// and logging is not quiet; otherwise the loop runs bare and callers log a line now and then.
/// </summary>
internal sealed class ConsoleProgress
{
    private readonly ProgressTask? _task;

    private ConsoleProgress(ProgressTask? task) => _task = task;

    /// <summary>Advances the bar to <paramref name="value"/> (of the total) with <paramref name="status"/> beside it.</summary>
    public void Report(double value, string status)
    {
        if (_task is null) return;
        _task.Value = value;
        _task.Description = Markup.Escape(status);
    }

    public static T Run<T>(TextWriter error, bool show, string description, double total, Func<ConsoleProgress, T> work)
    {
        if (!show || !ReferenceEquals(error, Console.Error) || Console.IsErrorRedirected) return work(new ConsoleProgress(null));
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(error) });
        T result = default!;
        console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .Start(ctx => result = work(new ConsoleProgress(ctx.AddTask(Markup.Escape(description), maxValue: total))));
        return result;
    }
}
