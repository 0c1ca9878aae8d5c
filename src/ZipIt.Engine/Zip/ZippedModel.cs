using static TorchSharp.torch;

namespace ZipIt.Engine.Zip;

/// <summary>
/// The result of zipping N models: the merged state (every key for a full zip; the trunk's keys for
/// a partial zip) and, for a partial zip, each model's head (its keys after the stop stage, entry
/// layers already unmerged) and, when the stop's feature space runs on into the heads, each head's
/// entry transform Uᵢ [C, C] (see <see cref="HeadLayout"/>). It owns every tensor.
/// </summary>
internal sealed class ZippedModel(Dictionary<string, Tensor> trunk, IReadOnlyList<Dictionary<string, Tensor>> heads, int? stopStage,
    string? entrySpace = null, IReadOnlyList<Tensor>? entryTransforms = null) : IDisposable
{
    public Dictionary<string, Tensor> Trunk { get; } = trunk;
    public IReadOnlyList<Dictionary<string, Tensor>> Heads { get; } = heads;

    /// <summary>Index of the last merged stage, or null for a full zip.</summary>
    public int? StopStage { get; } = stopStage;

    /// <summary>The space whose unmerge each head applies to the trunk output, or null.</summary>
    public string? EntrySpace { get; } = entrySpace;

    /// <summary>Uᵢ per head when <see cref="EntrySpace"/> is set.</summary>
    public IReadOnlyList<Tensor> EntryTransforms { get; } = entryTransforms ?? [];

    public void Dispose()
    {
        foreach (var t in Trunk.Values) t.Dispose();
        foreach (var h in Heads) foreach (var t in h.Values) t.Dispose();
        foreach (var t in EntryTransforms) t.Dispose();
    }
}
