using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Models;

/// <summary>Writes a loaded (possibly multi-head) model back in the layout it was read from, with its metadata.</summary>
internal static class ModelWriter
{
    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/>; floating-point tensors stored as
    /// <paramref name="dtype"/> when given (<see cref="StorageDType"/>). Above
    /// <paramref name="maxShardBytes"/> of tensor data, Hugging Face shards and their index go to
    /// <paramref name="path"/>'s folder instead.
    /// </summary>
    public static void Save(LoadedModel model, string path, IReadOnlyDictionary<string, string>? extraMetadata = null, ScalarType? dtype = null,
        long? maxShardBytes = null)
    {
        var metadata = new Dictionary<string, string>(model.Metadata) { ["format"] = "pt" };
        foreach (var (k, v) in ArchitectureMetadata.For(model.Config)) metadata[k] = v;
        if (model.Layout is { } l) foreach (var (k, v) in l.Metadata(model.Graph)) metadata[k] = v;
        foreach (var (k, v) in extraMetadata ?? new Dictionary<string, string>()) metadata[k] = v;
        var tensors = new List<KeyValuePair<string, Tensor>>();
        var trunk = model.Model.state_dict();
        if (model.Layout is not { } layout)
        {
            tensors.AddRange(trunk);
        }
        else
        {
            tensors.AddRange(trunk.Where(kv => model.Graph.StageOf(kv.Key) <= layout.StopStage));
            for (var h = 0; h < model.Heads.Count; h++)
                tensors.AddRange(model.Heads[h].state_dict().Where(kv => model.Graph.StageOf(kv.Key) > layout.StopStage)
                    .Select(kv => new KeyValuePair<string, Tensor>(HeadLayout.Prefix(h) + kv.Key, kv.Value)));
            for (var h = 0; h < model.EntryTransforms.Count; h++)
                tensors.Add(new(HeadLayout.EntryKey(h), model.EntryTransforms[h]));
        }
        var stored = tensors.Select(kv => new KeyValuePair<string, Tensor>(kv.Key, StorageDType.Cast(kv.Value, dtype))).ToList();
        try
        {
            if (maxShardBytes is { } max && stored.Sum(kv => kv.Value.NumberOfElements * kv.Value.ElementSize) > max)
                CheckpointWriter.WriteSharded(Path.GetDirectoryName(Path.GetFullPath(path))!, stored, metadata, max);
            else
                CheckpointWriter.WriteFile(path, stored, metadata);
        }
        finally
        {
            for (var i = 0; i < stored.Count; i++)
                if (!ReferenceEquals(stored[i].Value, tensors[i].Value)) stored[i].Value.Dispose();
        }
    }

    /// <summary>
    /// Rounds every floating-point parameter and buffer of <paramref name="model"/> (trunk, heads,
    /// entry transforms) to what <paramref name="dtype"/> holds, so that evaluating the model
    /// evaluates the checkpoint <see cref="Save"/> writes in that type.
    /// </summary>
    public static void RoundTo(LoadedModel model, ScalarType dtype)
    {
        foreach (var module in model.Modules)
        {
            foreach (var p in module.parameters()) StorageDType.RoundInPlace(p, dtype);
            foreach (var b in module.buffers()) StorageDType.RoundInPlace(b, dtype);
        }
        foreach (var t in model.EntryTransforms) StorageDType.RoundInPlace(t, dtype);
    }
}
