using System.Globalization;

namespace ZipIt.Engine.Data;

/// <summary>One item of a class list, a class id (<c>3</c>) or an inclusive range (<c>0-4</c>), as tasks write them.</summary>
internal static class ClassRange
{
    /// <summary>Parses <paramref name="item"/>; false for anything but non-negative ids with from ≤ to.</summary>
    public static bool TryParse(string item, out long from, out long to)
    {
        from = to = 0;
        if (item.Length == 0) return false;
        var dash = item.IndexOf('-', 1);
        return long.TryParse(dash < 0 ? item : item[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out from)
            && long.TryParse(dash < 0 ? item : item[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out to)
            && from <= to;
    }
}
