using System.Text.Json;
using System.Text.Json.Nodes;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Merge;

/// <summary>
/// A merge written as a Hugging Face-style model folder: <c>model.safetensors</c> (shards and
/// <c>model.safetensors.index.json</c> above <see cref="ShardBytes"/>), <c>config.json</c>,
/// <c>README.md</c> (the card) and the recipe. An output is a folder when it names an existing
/// folder, ends with a separator, or has no extension; <c>config.json</c> is laid out as timm's
/// (<c>architecture</c>, <c>num_classes</c>, <c>pretrained_cfg</c>) with zipit's own record under
/// <c>zipit</c>, so zipit and timm-style loaders both read it.
/// </summary>
internal static class ModelFolder
{
    /// <summary>Shards above this much tensor data, as Hugging Face's default <c>max_shard_size</c>.</summary>
    public const long ShardBytes = 5_000_000_000;

    public const string ConfigFile = "config.json";

    /// <summary>Whether <paramref name="output"/> names a folder to write rather than a checkpoint file.</summary>
    public static bool IsFolder(string output) =>
        Directory.Exists(output) || output.EndsWith(Path.DirectorySeparatorChar) || output.EndsWith(Path.AltDirectorySeparatorChar)
        || Path.GetExtension(output).Length == 0;

    /// <summary>The checkpoint file a merge writes for <paramref name="output"/>: the folder's <c>model.safetensors</c>, or the file itself.</summary>
    public static string CheckpointPath(string output) =>
        IsFolder(output) ? Path.Combine(Path.TrimEndingDirectorySeparator(output), Checkpoint.SingleFileName) : output;

    /// <summary>Exit 2 naming <paramref name="option"/> when a file output is not a <c>.safetensors</c> name.</summary>
    public static void RequireSafetensorsName(string output, string option)
    {
        if (IsFolder(output) || output.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) return;
        throw ZipItException.Usage($"{option} {output}: merge writes a .safetensors file or a model folder (a name without extension); "
            + $"for a torch.save file, convert the result: dotnet zipit convert MERGED -o {Path.GetFileName(output)}");
    }

    /// <summary>The folder's <c>config.json</c> for a model whose checkpoint metadata is <paramref name="metadata"/>.</summary>
    public static string Config(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> sources)
    {
        JsonNode? Parsed(string key) => metadata.TryGetValue(key, out var v) ? JsonNode.Parse(v) : null;
        var settings = Parsed(MetadataKeys.Config)?.AsObject();
        var root = new JsonObject
        {
            ["architecture"] = metadata.GetValueOrDefault(MetadataKeys.Variant),
        };
        if (settings?["classes"]?.GetValue<string>() is { } classes && int.TryParse(classes, out var n)) root["num_classes"] = n;
        if (Parsed(MetadataKeys.Preprocess) is JsonObject p)
        {
            var channels = p["channels"]!.GetValue<int>();
            var size = p["size"]!.GetValue<int>();
            static JsonArray PerChannel(JsonNode node, int channels)
            {
                var values = node.AsArray().Select(v => v!.GetValue<double>()).ToList();
                return new JsonArray([.. (values.Count == 1 ? Enumerable.Repeat(values[0], channels) : values).Select(v => (JsonNode)v)]);
            }
            var pretrained = new JsonObject
            {
                ["input_size"] = new JsonArray(channels, size, size),
                ["mean"] = PerChannel(p["mean"]!, channels),
                ["std"] = PerChannel(p["std"]!, channels),
            };
            if (p["resize"]?.GetValue<string>() == "crop")
            {
                pretrained["crop_pct"] = p["crop_pct"]?.DeepClone();
                pretrained["interpolation"] = p["interpolation"]?.DeepClone();
            }
            root["pretrained_cfg"] = pretrained;
        }
        var zipit = new JsonObject
        {
            ["architecture"] = metadata.GetValueOrDefault(MetadataKeys.Architecture),
            ["variant"] = metadata.GetValueOrDefault(MetadataKeys.Variant),
            ["settings"] = settings?.DeepClone(),
            ["preprocess"] = Parsed(MetadataKeys.Preprocess),
            ["head"] = metadata.GetValueOrDefault(MetadataKeys.Head),
            ["embedding"] = metadata.GetValueOrDefault(MetadataKeys.Embedding),
            ["classes"] = Parsed(MetadataKeys.Classes),
            ["class_names"] = Parsed(MetadataKeys.ClassNames),
            ["tasks"] = Parsed(MetadataKeys.Tasks),
            ["stop"] = metadata.GetValueOrDefault(MetadataKeys.StopLabel),
            ["heads"] = metadata.TryGetValue(MetadataKeys.Heads, out var heads) && int.TryParse(heads, out var h) ? h : 1,
            ["base_models"] = new JsonArray([.. sources.Select(s => (JsonNode)s)]),
        };
        foreach (var key in zipit.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList()) zipit.Remove(key);
        root["zipit"] = zipit;
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}
