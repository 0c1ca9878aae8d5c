using System.Text.Json;
using ZipIt.Engine.Checkpoints;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Zip;

/// <summary>
/// Writes a zipped model. A full zip is a plain checkpoint of the original architecture (PyTorch
/// loads it with the original class); a partial zip holds the trunk under the original keys and
/// model i's head under <c>heads.{i}.</c> (<see cref="HeadLayout"/>). Metadata records the
/// architecture, the stop point, the tasks and the recipe.
/// </summary>
internal static class ZippedCheckpoint
{
    public static void Write(string path, ZippedModel zipped, ArchitectureConfig config, MergeGraph graph,
        IReadOnlyList<string> tasks, IReadOnlyDictionary<string, string> extra)
    {
        var metadata = Metadata(zipped, config, graph, tasks, extra);
        var tensors = new List<KeyValuePair<string, Tensor>>(zipped.Trunk);
        for (var h = 0; h < zipped.Heads.Count; h++)
            tensors.AddRange(zipped.Heads[h].Select(kv => new KeyValuePair<string, Tensor>(HeadLayout.Prefix(h) + kv.Key, kv.Value)));
        for (var h = 0; h < zipped.EntryTransforms.Count; h++)
            tensors.Add(new(HeadLayout.EntryKey(h), zipped.EntryTransforms[h]));
        CheckpointWriter.WriteFile(path, tensors, metadata);
    }

    /// <summary>The metadata of a zipped model: architecture, stop label, tasks, head layout and <paramref name="extra"/> (sources, recipe, matcher).</summary>
    public static Dictionary<string, string> Metadata(ZippedModel zipped, ArchitectureConfig config, MergeGraph graph,
        IReadOnlyList<string> tasks, IReadOnlyDictionary<string, string> extra)
    {
        var metadata = new Dictionary<string, string>(extra) { ["format"] = "pt" };
        foreach (var (k, v) in ArchitectureMetadata.For(config)) metadata[k] = v;
        metadata[MetadataKeys.StopLabel] = StopPoint.Label(graph, zipped.StopStage);
        metadata[MetadataKeys.Tasks] = JsonSerializer.Serialize(tasks);
        if (zipped.StopStage is { } stop)
            foreach (var (k, v) in new HeadLayout(stop, zipped.Heads.Count, zipped.EntrySpace).Metadata(graph)) metadata[k] = v;
        return metadata;
    }
}
