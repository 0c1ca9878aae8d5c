using System.Globalization;
using ZipIt.Core;

namespace ZipIt.Models;

/// <summary>
/// How a partially zipped checkpoint stores its N heads: the merged trunk (stages up to and
/// including <see cref="StopStage"/>) under the original key names, and model i's later stages
/// under <c>heads.{i}.{original key}</c>. Metadata <c>zipit.stop</c> names the stop stage and
/// <c>zipit.heads</c> gives N.
/// </summary>
internal sealed record HeadLayout(int StopStage, int Heads)
{

    public static string Prefix(int head) => $"heads.{head}.";

    public Dictionary<string, string> Metadata(MergeGraph graph) => new()
    {
        [MetadataKeys.Stop] = graph.Stages[StopStage].Name,
        [MetadataKeys.Heads] = Heads.ToString(CultureInfo.InvariantCulture),
    };

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
        return new HeadLayout(index, n);
    }

    /// <summary>The checkpoint keys a model of this layout has, each with the model key it holds and its head (-1: trunk).</summary>
    public IEnumerable<(string Key, string ModelKey, int Head)> Keys(IEnumerable<string> modelKeys, MergeGraph graph)
    {
        foreach (var key in modelKeys)
        {
            var stage = graph.StageOf(key);
            if (stage <= StopStage) yield return (key, key, -1);
            else for (var h = 0; h < Heads; h++) yield return (Prefix(h) + key, key, h);
        }
    }
}
