using System.Globalization;
using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// The artifact between match and zip: for each merge point P, <c>P.merge</c> [C, N·C] and
/// <c>P.unmerge</c> [N·C, C] (float32); metadata <c>models</c> (N), <c>zipit.matcher</c> and its
/// settings.
/// </summary>
internal static class MatchesFile
{
    public const string MergeSuffix = ".merge";
    public const string UnmergeSuffix = ".unmerge";

    public static void Write(string path, int models, IReadOnlyList<string> points, IReadOnlyDictionary<string, MatchResult> matches,
        string matcher, IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, string>? extra = null)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var p in points)
        {
            tensors.Add(new(p + MergeSuffix, matches[p].Merge));
            tensors.Add(new(p + UnmergeSuffix, matches[p].Unmerge));
        }
        var metadata = new Dictionary<string, string>(extra ?? new Dictionary<string, string>())
        {
            ["format"] = "pt",
            [MetadataKeys.Kind] = "matches",
            ["models"] = models.ToString(CultureInfo.InvariantCulture),
            [MetadataKeys.Points] = JsonSerializer.Serialize(points),
            [MetadataKeys.Matcher] = matcher,
            [MetadataKeys.MatcherSettings] = JsonSerializer.Serialize(settings),
        };
        CheckpointWriter.WriteFile(path, tensors, metadata);
    }

    /// <summary>
    /// Reads the matches of <paramref name="points"/> for <paramref name="models"/> models, checking
    /// that each point is present with the right shapes and finite values before anything is applied.
    /// </summary>
    public static Dictionary<string, MatchResult> Read(string path, IReadOnlyList<FeatureSpace> points, int models)
    {
        using var file = Checkpoint.Open(path);
        var name = Path.GetFileName(file.Path);
        if (file.Metadata.TryGetValue("models", out var m) && m != models.ToString(CultureInfo.InvariantCulture))
            throw ZipItException.Input($"{name} holds matches for {m} models, but {models} models were given");
        var result = new Dictionary<string, MatchResult>();
        foreach (var space in points)
        {
            var c = space.Width;
            var merge = ReadChecked(file, name, space.Name + MergeSuffix, [c, (long)models * c]);
            var unmerge = ReadChecked(file, name, space.Name + UnmergeSuffix, [(long)models * c, c]);
            result[space.Name] = new MatchResult(merge, unmerge);
        }
        return result;
    }

    private static Tensor ReadChecked(Checkpoint file, string name, string tensor, long[] shape)
    {
        if (!file.Contains(tensor))
            throw ZipItException.Input($"{name} has no tensor '{tensor}' (the matches do not cover this merge point)");
        var entry = file.GetEntry(tensor);
        if (!entry.Shape.SequenceEqual(shape))
            throw ZipItException.Input($"{name}: tensor '{tensor}' has shape [{string.Join(",", entry.Shape)}], expected [{string.Join(",", shape)}]");
        var t = file.Read(tensor);
        if (!t.is_floating_point() || !t.isfinite().all().item<bool>())
            throw ZipItException.Input($"{name}: tensor '{tensor}' must hold finite floating-point values");
        return t.to(ScalarType.Float32);
    }
}
