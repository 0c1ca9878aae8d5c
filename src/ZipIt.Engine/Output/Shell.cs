using System.Text.RegularExpressions;

namespace ZipIt.Engine.Output;

/// <summary>Command lines as a POSIX shell reads them, for the commands zipit prints to re-run.</summary>
internal static partial class Shell
{
    /// <summary><paramref name="word"/> as is when the shell would read it unchanged, otherwise in single quotes.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && Plain().IsMatch(word) ? word : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The words joined into one command line.</summary>
    public static string Join(IEnumerable<string> words) => string.Join(' ', words.Select(Quote));

    [GeneratedRegex(@"^[A-Za-z0-9_@%+=:,./-]+$")]
    private static partial Regex Plain();
}
