using System.Globalization;

namespace ZipIt.Output;

internal static class Format
{
    public static string Shape(IEnumerable<long> shape) => "[" + string.Join(",", shape) + "]";

    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    public static string Bytes(long n) => n switch
    {
        >= 1L << 30 => (n / (double)(1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (n / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (n / (double)(1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => n.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
