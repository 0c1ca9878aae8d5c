namespace ZipIt.Engine.Output;

/// <summary>
/// Where and how the stages that run over data (training, collection, BatchNorm resets, evaluation)
/// show progress: decided once per command (<see cref="Decide"/>), then handed to every stage.
/// Progress only ever goes to stderr, so stdout stays data (text or <c>--json</c>).
/// </summary>
internal sealed class ProgressDisplay(TextWriter error, ProgressMode mode)
{
    /// <summary>No progress anywhere (tests, library callers).</summary>
    public static readonly ProgressDisplay Off = new(TextWriter.Null, ProgressMode.None);

    public ProgressMode Mode { get; } = mode;

    /// <summary>
    /// Quiet shows nothing, whatever was asked. Otherwise a terminal's stderr gets a bar, unless
    /// <c>--json</c> asked for machine output and <c>--progress</c> did not ask for progress too; a
    /// non-terminal stderr gets progress lines only when <c>--progress</c> asks.
    /// </summary>
    public static ProgressMode Decide(bool quiet, bool json, bool requested, bool errorIsTerminal) =>
        quiet ? ProgressMode.None
        : errorIsTerminal ? (requested || !json ? ProgressMode.Bar : ProgressMode.None)
        : requested ? ProgressMode.Lines : ProgressMode.None;

    /// <summary>Runs <paramref name="work"/> with a progress of <paramref name="total"/> steps named <paramref name="description"/>.</summary>
    public T Run<T>(string description, double total, Func<ConsoleProgress, T> work) => ConsoleProgress.Run(error, Mode, description, total, work);

    /// <summary>
    /// Runs <paramref name="work"/> over <paramref name="items"/> (<paramref name="count"/> of them),
    /// advancing the progress as each item is finished with (when the next is asked for).
    /// </summary>
    public TResult Over<TItem, TResult>(string description, IEnumerable<TItem> items, long count, Func<IEnumerable<TItem>, TResult> work) =>
        Mode == ProgressMode.None ? work(items) : Run(description, count, progress => work(Counted(items, count, description, progress)));

    /// <summary>The batches of <paramref name="count"/> items taken <paramref name="batchSize"/> at a time.</summary>
    public static long Batches(long count, int batchSize) => (count + batchSize - 1) / batchSize;

    private static IEnumerable<TItem> Counted<TItem>(IEnumerable<TItem> items, long count, string description, ConsoleProgress progress)
    {
        long done = 0;
        foreach (var item in items)
        {
            yield return item;
            done++;
            progress.Report(done, $"{description}, batch {done}/{count}");
        }
    }
}
