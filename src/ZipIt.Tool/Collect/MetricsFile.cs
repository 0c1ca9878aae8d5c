using System.Globalization;
using System.Text.Json;
using ZipIt.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Core;

namespace ZipIt.Collect;

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

    public static void Write(string path, int models, IReadOnlyList<FeatureSpace> spaces,
        IReadOnlyDictionary<string, (Tensor Covariance, Tensor Mean)> statistics, long images, IReadOnlyDictionary<string, string> extraMetadata)
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
            [ModelsKey] = models.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Points] = JsonSerializer.Serialize(spaces.Select(s => s.Name)),
            [MetadataKeys.Images] = images.ToString(CultureInfo.InvariantCulture),
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
}
