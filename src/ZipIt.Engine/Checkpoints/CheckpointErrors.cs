using System.Text;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// Builds the one-line <see cref="ZipItException"/>s of the checkpoint layer. Names that come from a
/// file (tensor names, shard names, JSON parser messages) may hold control characters; they are
/// escaped here so that every message stays on one line.
/// </summary>
internal static class CheckpointErrors
{
    /// <summary>A bad or missing input file (exit code 3): "<paramref name="file"/>: <paramref name="what"/>".</summary>
    public static ZipItException Input(string file, string what, Exception? inner = null) =>
        ZipItException.Input(OneLine($"{file}: {what}"), inner);

    /// <summary>A file that could not be written (exit code 5: disk full, permission, missing folder).</summary>
    public static ZipItException Write(string file, string what, Exception? inner = null) =>
        ZipItException.Resource(OneLine($"cannot write {file}: {what}"), inner);

    /// <summary>A tensor or shard name, quoted, with control characters escaped and very long names cut.</summary>
    public static string Quote(string name)
    {
        const int max = 200;
        var shown = name.Length > max ? name[..max] + "…" : name;
        return "'" + Escape(shown) + "'";
    }

    public static string OneLine(string message) => Escape(message);

    private static string Escape(string s)
    {
        var needs = false;
        foreach (var c in s)
        {
            if (char.IsControl(c) || c == '\u2028' || c == '\u2029') { needs = true; break; }
        }
        if (!needs) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c == '\u2028' || c == '\u2029') sb.Append($"\\u{(int)c:x4}");
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
