using System.Globalization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Zip;

/// <summary>
/// How a partially zipped checkpoint stores its N heads: the merged trunk (stages up to and
/// including <see cref="StopStage"/>) under the original key names, and model i's later stages
/// under <c>heads.{i}.{original key}</c>. Metadata <c>zipit.stop</c> names the stop stage and
/// <c>zipit.heads</c> gives N.
/// </summary>
/// <remarks>
/// When the feature space at the stop runs on into the heads (a ViT's residual stream is written by
/// every block), no head weight can absorb the unmerge, so each head stores its own entry
/// transform <c>heads.{i}.zipit_entry_transform</c> = Uᵢ [C, C] and applies it to the trunk's output
/// (on the stop stage's <see cref="ModelStage.OutputChannelAxis"/>) before its own stages; metadata
/// <c>zipit.entry_space</c> names that space. Where the space ends at the stop (a ResNet stage
/// boundary), Uᵢ is folded into the heads' first layers and there is no entry transform.
/// </remarks>
internal sealed record HeadLayout(int StopStage, int Heads, string? EntrySpace = null)
{
    public const string EntryTransformKey = "zipit_entry_transform";

    public static string Prefix(int head) => $"heads.{head}.";

    /// <summary>The checkpoint key of head <paramref name="head"/>'s entry transform.</summary>
    public static string EntryKey(int head) => Prefix(head) + EntryTransformKey;

    public Dictionary<string, string> Metadata(MergeGraph graph)
    {
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Stop] = graph.Stages[StopStage].Name,
            [MetadataKeys.Heads] = Heads.ToString(CultureInfo.InvariantCulture),
        };
        if (EntrySpace is not null) metadata[MetadataKeys.EntrySpace] = EntrySpace;
        return metadata;
    }

    /// <summary>The layout a checkpoint's metadata declares, or null for a single-head model.</summary>
    public static HeadLayout? From(IReadOnlyDictionary<string, string> metadata, MergeGraph graph, string file)
    {
        if (!metadata.TryGetValue(MetadataKeys.Heads, out var heads)) return null;
        if (!int.TryParse(heads, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
            throw ZipItException.Input($"{file}: metadata '{MetadataKeys.Heads}' must be a positive integer, got '{heads}'");
        var stop = metadata.GetValueOrDefault(MetadataKeys.Stop);
        var index = graph.Stages.ToList().FindIndex(s => s.Name == stop);
        if (index < 0 || index == graph.Stages.Count - 1)
            throw ZipItException.Input($"{file}: metadata '{MetadataKeys.Stop}' = '{stop}' is not a stage before the last one");
        var entry = metadata.GetValueOrDefault(MetadataKeys.EntrySpace);
        if (entry is not null && graph.Stages[index].OutputSpace != entry)
            throw ZipItException.Input($"{file}: metadata '{MetadataKeys.EntrySpace}' = '{entry}' is not the space stage '{stop}' ends in");
        return new HeadLayout(index, n, entry);
    }

    /// <summary>Width of the entry transforms (the entry space's), or 0 without them.</summary>
    public int EntryWidth(MergeGraph graph) => EntrySpace is null ? 0 : graph.Space(EntrySpace).Width;

    /// <summary>The checkpoint keys a model of this layout has, each with the model key it holds and its head (-1: trunk); entry transforms have no model key.</summary>
    public IEnumerable<(string Key, string? ModelKey, int Head)> Keys(IEnumerable<string> modelKeys, MergeGraph graph)
    {
        foreach (var key in modelKeys)
        {
            var stage = graph.StageOf(key);
            if (stage <= StopStage) yield return (key, key, -1);
            else for (var h = 0; h < Heads; h++) yield return (Prefix(h) + key, key, h);
        }
        if (EntrySpace is not null)
            for (var h = 0; h < Heads; h++) yield return (EntryKey(h), null, h);
    }
}
