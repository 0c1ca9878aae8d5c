using System.Globalization;

namespace ZipIt.Engine.Core;

/// <summary>Sizes as people write them: <c>2GB</c>, <c>500MB</c>, <c>1.5GiB</c>, <c>123456</c> (KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024).</summary>
internal static class ByteSize
{
    private static readonly (string Suffix, double Factor)[] Units =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ];

    /// <summary>Bytes of <paramref name="text"/>; exit 2 naming <paramref name="option"/> when it is not a size of at least 1 byte.</summary>
    public static long Parse(string text, string option)
    {
        var s = text.Trim();
        var factor = 1.0;
        foreach (var (suffix, f) in Units)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                factor = f;
                s = s[..^suffix.Length].Trim();
                break;
            }
        }
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number) || number * factor < 1 || number * factor > long.MaxValue)
            throw ZipItException.Usage($"{option} {text}: expected a size such as 2GB, 500MB or 1GiB (at least 1 byte)");
        return (long)(number * factor);
    }
}
