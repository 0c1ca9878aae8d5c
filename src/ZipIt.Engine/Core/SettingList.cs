namespace ZipIt.Engine.Core;

/// <summary>Repeated <c>NAME=VALUE</c> items of an option such as <c>--set</c>, as one case-insensitive dictionary.</summary>
public static class SettingList
{
    /// <summary>Parses <paramref name="items"/>; a malformed one is a usage error naming <paramref name="option"/>.</summary>
    public static Dictionary<string, string> Parse(IEnumerable<string> items, string option = "--set")
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in items)
        {
            var i = item.IndexOf('=');
            if (i <= 0) throw ZipItException.Usage($"{option} {item}: expected NAME=VALUE");
            values[item[..i].Trim()] = item[(i + 1)..].Trim();
        }
        return values;
    }
}
