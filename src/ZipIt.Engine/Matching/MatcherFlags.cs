using System.Globalization;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>The matcher settings given on a command line: <c>--set name=value</c>, with <c>--alpha</c>/<c>--beta</c> as short-hands for ZipIt!'s α and β.</summary>
internal static class MatcherFlags
{
    public static Dictionary<string, string> Values(double? alpha, double? beta, IEnumerable<string> set)
    {
        var values = Core.SettingList.Parse(set);
        if (alpha is { } a) values["alpha"] = a.ToString("R", CultureInfo.InvariantCulture);
        if (beta is { } b) values["beta"] = b.ToString("R", CultureInfo.InvariantCulture);
        return values;
    }
}
