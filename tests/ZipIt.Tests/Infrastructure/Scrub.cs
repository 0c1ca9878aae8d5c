using System.Text.RegularExpressions;

namespace ZipIt.Tests;

/// <summary>Makes text stable for snapshots: machine paths, temp folders and timings replaced by placeholders.</summary>
internal static partial class Scrub
{
    public static string Text(string text, params (string Value, string Placeholder)[] more)
    {
        foreach (var (value, placeholder) in more) text = text.Replace(value, placeholder);
        text = text.Replace(Path.GetFullPath(Path.Combine(Repository.Root, "..", "shared")), "{shared}");
        text = text.Replace(AppContext.BaseDirectory.TrimEnd('/'), "{bin}");
        text = text.Replace(Repository.Root, "{repo}");
        text = TempPath().Replace(text, "{temp}");
        return text.ReplaceLineEndings("\n");
    }

    [GeneratedRegex(@"/tmp/zipit-[A-Za-z0-9-]+")]
    private static partial Regex TempPath();
}
