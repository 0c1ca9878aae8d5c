using Microsoft.Extensions.Logging;
using ZipIt.Engine.Core;

namespace ZipIt.Hosting;

/// <summary>The dotnet CLI's verbosity levels (<c>q|m|n|d|diag</c>), mapped onto log levels.</summary>
public enum Verbosity
{
    Quiet,
    Minimal,
    Normal,
    Detailed,
    Diagnostic,
}

internal static class VerbosityExtensions
{
    public static readonly string[] Names = ["q", "quiet", "m", "minimal", "n", "normal", "d", "detailed", "diag", "diagnostic"];

    public static Verbosity Parse(string value) => value.ToLowerInvariant() switch
    {
        "q" or "quiet" => Verbosity.Quiet,
        "m" or "minimal" => Verbosity.Minimal,
        "n" or "normal" => Verbosity.Normal,
        "d" or "detailed" => Verbosity.Detailed,
        "diag" or "diagnostic" => Verbosity.Diagnostic,
        _ => throw ZipItException.Usage($"--verbosity: '{value}' is not one of q, m, n, d, diag"),
    };

    // Minimal shows warnings (a plugin that failed to load) but no chatter; quiet shows errors only.
    public static LogLevel ToLogLevel(this Verbosity v) => v switch
    {
        Verbosity.Quiet => LogLevel.Error,
        Verbosity.Minimal => LogLevel.Warning,
        Verbosity.Normal => LogLevel.Information,
        Verbosity.Detailed => LogLevel.Debug,
        _ => LogLevel.Trace,
    };
}
