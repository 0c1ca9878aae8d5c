using TorchSharp;
using System.Globalization;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Collect;

/// <summary>
/// The artifact between collect and match: for each merge point P, tensors <c>P.covariance</c>
/// [N·C, N·C] and <c>P.mean</c> [N·C] (float64); metadata <c>models</c> (N), the point order
/// (<c>zipit.points</c>, JSON), the image count and the models' architecture. A file with only
/// <c>P.covariance</c> tensors (and optionally <c>models</c>, default 2) is accepted too, so a
/// covariance computed anywhere can be matched.
/// </summary>
internal static class MetricsFile
{
    public const string CovarianceSuffix = ".covariance";
    public const string MeanSuffix = ".mean";
    public const string ModelsKey = "models";

    public static void Write(string path, IReadOnlyList<FeatureSpace> spaces, PointStatistics statistics, IReadOnlyDictionary<string, string> extraMetadata)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var space in spaces)
        {
            var (covariance, mean) = statistics[space.Name];
            tensors.Add(new(space.Name + CovarianceSuffix, covariance));
            tensors.Add(new(space.Name + MeanSuffix, mean));
        }
        var metadata = new Dictionary<string, string>(extraMetadata)
        {
            ["format"] = "pt",
            [MetadataKeys.Kind] = "metrics",
            [ModelsKey] = statistics.Models.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Points] = JsonSerializer.Serialize(spaces.Select(s => s.Name)),
            [MetadataKeys.Images] = statistics.Images.ToString(CultureInfo.InvariantCulture),
        };
        CheckpointWriter.WriteFile(path, tensors, metadata);
    }

    /// <summary>The number of models a metrics file says it holds (default 2).</summary>
    public static int Models(Checkpoint file)
    {
        if (!file.Metadata.TryGetValue(ModelsKey, out var text)) return 2;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 2)
            throw ZipItException.Input($"{Path.GetFileName(file.Path)}: metadata '{ModelsKey}' must be an integer ≥ 2, got '{text}'");
        return n;
    }

    /// <summary>Point names in the file's order: <c>zipit.points</c> when present, else every <c>P.covariance</c> in name order.</summary>
    public static IReadOnlyList<string> Points(Checkpoint file)
    {
        var names = file.Entries.Where(e => e.Name.EndsWith(CovarianceSuffix, StringComparison.Ordinal))
            .Select(e => e.Name[..^CovarianceSuffix.Length]).ToHashSet(StringComparer.Ordinal);
        if (file.Metadata.TryGetValue(MetadataKeys.Points, out var json))
        {
            string[]? ordered;
            try { ordered = JsonSerializer.Deserialize<string[]>(json); }
            catch (JsonException) { ordered = null; }
            if (ordered is null || ordered.Any(p => !names.Contains(p)) || ordered.Length != names.Count)
                throw ZipItException.Input($"{Path.GetFileName(file.Path)}: metadata '{MetadataKeys.Points}' does not list exactly the file's covariance tensors");
            return ordered;
        }
        return names.Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Reads every point's statistics, checked before anyone uses them: square [N·C, N·C] finite
    /// floating-point covariances, and widths that agree with <paramref name="graph"/> where it knows
    /// the point. Returns the point names in file order with their widths.
    /// </summary>
    public static (PointStatistics Statistics, IReadOnlyList<(string Name, int Width)> Points) Read(Checkpoint file, MergeGraph? graph)
    {
        var name = Path.GetFileName(file.Path);
        var n = Models(file);
        var points = new List<(string, int)>();
        var statistics = new Dictionary<string, (Tensor, Tensor)>();
        try
        {
            foreach (var point in Points(file))
            {
                var entry = file.GetEntry(point + CovarianceSuffix);
                var shape = entry.Shape;
                if (shape.Length != 2 || shape[0] != shape[1] || shape[0] % n != 0 || shape[0] == 0)
                    throw ZipItException.Input($"{name}: tensor '{point}{CovarianceSuffix}' has shape [{string.Join(",", shape)}]; a square [N·C, N·C] with N = {n} is needed");
                var width = (int)(shape[0] / n);
                var space = graph?.Spaces.FirstOrDefault(s => s.Name == point);
                if (space is not null && space.Width != width)
                    throw ZipItException.Input($"{name}: point '{point}' has {width} units per model, the architecture says {space.Width}");
                using var raw = file.Read(point + CovarianceSuffix);
                if (!raw.is_floating_point() || !raw.isfinite().all().item<bool>())
                    throw ZipItException.Input($"{name}: tensor '{point}{CovarianceSuffix}' must hold finite floating-point values");
                Tensor? mean = null;
                if (file.Contains(point + MeanSuffix))
                {
                    using var rawMean = file.Read(point + MeanSuffix);
                    if (!rawMean.shape.SequenceEqual([shape[0]]) || !rawMean.is_floating_point() || !rawMean.isfinite().all().item<bool>())
                        throw ZipItException.Input($"{name}: tensor '{point}{MeanSuffix}' must hold {shape[0]} finite values");
                    mean = rawMean.to(ScalarType.Float64);
                }
                statistics[point] = (raw.to(ScalarType.Float64), mean ?? torch.zeros(shape[0], ScalarType.Float64));
                points.Add((point, width));
            }
        }
        catch
        {
            foreach (var (c, m) in statistics.Values) { c.Dispose(); m.Dispose(); }
            throw;
        }
        if (points.Count == 0) throw ZipItException.Input($"{name} holds no '*{CovarianceSuffix}' tensors");
        var images = file.Metadata.TryGetValue(MetadataKeys.Images, out var text) && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : 0;
        return (new PointStatistics(statistics, n, images), points);
    }
}
