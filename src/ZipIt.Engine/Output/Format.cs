using System.Globalization;

namespace ZipIt.Engine.Output;

internal static class Format
{
    public static string Shape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A fraction in [0, 1] as a percentage with one decimal ("87.5"); "–" when not finite.</summary>
    public static string Percent(double fraction) => double.IsFinite(fraction) ? (100 * fraction).ToString("0.0", CultureInfo.InvariantCulture) : "–";

    /// <summary>Multiply-accumulates: "40.6 M", "1.23 G".</summary>
    public static string Macs(long macs) => macs >= 1_000_000_000
        ? (macs / 1e9).ToString("0.00", CultureInfo.InvariantCulture) + " G"
        : (macs / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " M";

    public static string Bytes(long n) => n switch
    {
        >= 1L << 30 => (n / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (n / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (n / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
