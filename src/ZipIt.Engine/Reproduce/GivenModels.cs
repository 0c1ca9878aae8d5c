using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;

namespace ZipIt.Engine.Reproduce;

/// <summary>
/// A pair of checkpoints given to <c>reproduce</c>/<c>demo</c> instead of training one (<c>--models</c>,
/// or the example pair the tool ships for <c>demo</c>): one per task of the setting, in task order,
/// each trained on its task as its metadata says.
/// </summary>
internal static class GivenModels
{
    /// <summary>The folder beside the tool holding the example pair <c>demo --arch ARCH</c> merges: <c>demo-pair</c> (ResNets), <c>vit-pair</c>, ...</summary>
    public static string DemoPairFolder(string arch = ReproduceOptions.ResNet) =>
        arch == ReproduceOptions.ResNet ? "demo-pair" : $"{arch}-pair";

    /// <summary>The example pair of <paramref name="arch"/> shipped with the tool (<c>a.safetensors</c>, <c>b.safetensors</c>), or null when this build has none.</summary>
    public static IReadOnlyList<string>? DemoPair(string arch = ReproduceOptions.ResNet)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, DemoPairFolder(arch));
        string[] files = [Path.Combine(folder, "a.safetensors"), Path.Combine(folder, "b.safetensors")];
        return files.All(File.Exists) ? files : null;
    }

    /// <summary>
    /// The report's entries for <paramref name="paths"/> as pair 0; exit 2 when their count is not the
    /// setting's task count, exit 3 when a checkpoint records another task than its place says.
    /// </summary>
    public static List<ReproduceReport.ModelEntry> Pair(IReadOnlyList<string> paths, ReproduceSetting setting)
    {
        if (paths.Count != setting.Tasks.Count)
            throw ZipItException.Usage($"--models: {setting.Name} has {setting.Tasks.Count} tasks ({string.Join(", ", setting.Tasks)}), so it needs {setting.Tasks.Count} checkpoints in that order, got {paths.Count}");
        var entries = new List<ReproduceReport.ModelEntry>();
        for (var t = 0; t < paths.Count; t++)
        {
            var path = Path.GetFullPath(paths[t]);
            if (!File.Exists(path)) throw ZipItException.Input($"--models: {paths[t]}: no such file");
            using var file = Checkpoint.Open(path);
            var expected = TaskSpec.Parse(setting.Tasks[t]).ToString();
            if (file.Metadata.TryGetValue(MetadataKeys.Task, out var task) && task != expected)
                throw ZipItException.Input($"{Path.GetFileName(path)}: trained on {task}, but model {(char)('A' + t)} of {setting.Name} is for {expected}");
            var seed = file.Metadata.TryGetValue(MetadataKeys.Seed, out var s) && long.TryParse(s, out var parsed) ? parsed : -1;
            entries.Add(new ReproduceReport.ModelEntry(0, expected, seed, path, true, ValidationAccuracy(file.Metadata), null, null));
        }
        return entries;
    }

    /// <summary>
    /// The width of the class embeddings the given models were trained against, as they record it
    /// (<c>zipit.embedding</c> <c>class-name-hash:D</c>), or <paramref name="recipeDimension"/> when
    /// they do not say. Reproduce scores clip heads, so a model recording a logits head, or embeddings
    /// zipit cannot regenerate, is refused (exit 3) rather than scored at chance.
    /// </summary>
    public static int EmbeddingDimension(IReadOnlyList<string> paths, int recipeDimension)
    {
        var dimensions = new SortedSet<int>();
        foreach (var path in paths)
        {
            using var file = Checkpoint.Open(path);
            var name = Path.GetFileName(path);
            if (file.Metadata.GetValueOrDefault(MetadataKeys.Head) is "logits")
                throw ZipItException.Input($"--models: {name} has a logits head ({MetadataKeys.Head}); reproduce scores class-embedding (clip) heads, so merge and evaluate it with 'merge' and 'evaluate'");
            if (file.Metadata.GetValueOrDefault(MetadataKeys.Embedding) is not { } spec || spec == "none") continue;
            if (!spec.StartsWith(ClassNameEmbeddings.SpecPrefix, StringComparison.Ordinal)
                || !int.TryParse(spec[ClassNameEmbeddings.SpecPrefix.Length..], out var dimension) || dimension < 2)
                throw ZipItException.Input($"--models: {name} was trained against class embeddings '{spec}' ({MetadataKeys.Embedding}), which reproduce cannot regenerate");
            dimensions.Add(dimension);
        }
        if (dimensions.Count > 1)
            throw ZipItException.Input($"--models: the checkpoints record class embeddings of different widths ({string.Join(", ", dimensions)}); a pair shares one embedding space");
        return dimensions.Count == 1 ? dimensions.Min : recipeDimension;
    }

    /// <summary>How the checkpoints store their weights, e.g. <c>float16</c>: the floating-point dtypes of their tensors (models are computed in float32 whatever they store).</summary>
    public static string Storage(IEnumerable<string> paths)
    {
        var codes = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var path in paths)
        {
            using var file = Checkpoint.Open(path);
            foreach (var entry in file.Entries)
                if (entry.DType.StartsWith('F') || entry.DType == "BF16") codes.Add(entry.DType);
        }
        return string.Join(" and ", codes.Select(c => c switch { "F16" => "float16", "BF16" => "bfloat16", "F32" => "float32", "F64" => "float64", _ => c }));
    }

    /// <summary>The validation accuracy <c>train</c> recorded, in %; NaN when the checkpoint does not say.</summary>
    public static double ValidationAccuracy(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue(MetadataKeys.Training, out var json)) return double.NaN;
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("result", out var result) && result.TryGetProperty("validationAccuracy", out var accuracy)
                ? 100 * accuracy.GetDouble() : double.NaN;
        }
        catch (JsonException)
        {
            return double.NaN;
        }
    }
}
