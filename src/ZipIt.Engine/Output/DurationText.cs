using System.Globalization;

namespace ZipIt.Engine.Output;

/// <summary>How a duration reads in logs and progress lines: <c>m:ss</c> under an hour, else <c>h:mm:ss</c> with the hours counted in full (no day wrap).</summary>
internal static class DurationText
{
    public static string Format(double seconds)
    {
        var span = TimeSpan.FromSeconds(Math.Round(Math.Max(seconds, 0)));
        return span.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)span.TotalHours}:{span.Minutes:00}:{span.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{span.Minutes}:{span.Seconds:00}");
    }
}
