namespace ZipIt.Engine.Core;

/// <summary>Message helpers every layer may use (it depends on nothing).</summary>
public static class Messages
{
    /// <summary>libtorch messages carry C++ backtraces over many lines; the first line says what went wrong.</summary>
    public static string OneLine(string message)
    {
        var line = message.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() ?? "";
        return line.Trim();
    }
}
