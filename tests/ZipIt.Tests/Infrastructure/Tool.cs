using ZipIt.Cli;
using ZipIt.Engine.Core;

namespace ZipIt.Tests;

/// <summary>The result of one in-process command line.</summary>
internal sealed record CliResult(int ExitCode, string Out, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Out}\n--- stderr\n{Error}";
}

/// <summary>
/// Runs <c>dotnet zipit</c> in-process with captured stdout/stderr. The per-user plugin folder and
/// ZIPIT_PLUGIN_PATH are pointed at an empty folder so the developer's own plugins never leak in.
/// </summary>
internal static class Tool
{
    private static readonly string Isolated = CreateIsolated();

    /// <summary>An empty per-user folder for the test process, removed when the process exits.</summary>
    private static string CreateIsolated()
    {
        var folder = Directory.CreateTempSubdirectory("zipit-home-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        };
        return folder;
    }

    public static CliResult Run(params string[] args) => Run(null, args);

    public static CliResult Run(IReadOnlyDictionary<string, string?>? configuration, params string[] args)
    {
        var settings = new Dictionary<string, string?> { ["HOME"] = Isolated, ["PLUGIN_PATH"] = "" };
        foreach (var (k, v) in configuration ?? new Dictionary<string, string?>()) settings[k] = v;
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        var code = ZipItApp.Run(args, stdout, stderr, settings);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
