using Microsoft.Extensions.Logging;

namespace ZipIt.Hosting;

/// <summary>
/// Writes each log entry as one line (<c>warning: ...</c>) to the command's stderr writer, at once.
/// Hand-written because Microsoft.Extensions.Logging.Console writes from a background queue to the
/// process console: lines could arrive after the process's last output, and tests that run the
/// CLI in-process could not capture them.
/// </summary>
internal sealed class LineLoggerProvider(TextWriter writer, LogLevel minimum) : ILoggerProvider
{
    private readonly Lock _gate = new();
    private readonly TextWriter _writer = writer;
    private readonly LogLevel _minimum = minimum;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this);

    public void Dispose() { }

    private sealed class LineLogger(LineLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var prefix = logLevel switch
            {
                LogLevel.Trace => "trace: ",
                LogLevel.Debug => "debug: ",
                LogLevel.Information => "",
                LogLevel.Warning => "warning: ",
                _ => "error: ",
            };
            lock (owner._gate)
            {
                owner._writer.WriteLine(prefix + formatter(state, exception));
                if (exception is not null && owner._minimum <= LogLevel.Trace) owner._writer.WriteLine(exception);
                owner._writer.Flush();
            }
        }
    }
}
