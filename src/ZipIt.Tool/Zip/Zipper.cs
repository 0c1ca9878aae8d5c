using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Matching;

namespace ZipIt.Zip;

/// <summary>
/// Applies the matches of every processed merge point to every model through the architecture's
/// declarative description, then averages (ZipIt! §4.4): W* = Σᵢ M̃ᵢ·Wᵢ·Uᵢ, i.e. the mean over
/// models of (N·M̃ᵢ)·Wᵢ·Uᵢ. Producers and norm vectors of a point get N·M̃ᵢ on their axis,
/// consumers get Uᵢ on theirs; the transforms of different points commute (different axes). No
/// architecture-specific code: everything comes from the <see cref="MergeGraph"/>.
/// </summary>
internal static class Zipper
{
    /// <summary>
    /// Zips <paramref name="models"/> (state dicts, same keys and shapes). <paramref name="stopStage"/>
    /// null: full zip, every point; otherwise the points up to that stage's output space, and each
    /// model keeps its own head.
    /// </summary>
    public static ZippedModel Zip(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> models, MergeGraph graph,
        IReadOnlyDictionary<string, MatchResult> matches, int? stopStage, ZipOptions options)
    {
        var n = models.Count;
        var points = PointsUpTo(graph, stopStage);
        var transformed = new List<Dictionary<string, Tensor>>();
        try
        {
            using var _ = torch.no_grad();
            for (var i = 0; i < n; i++)
            {
                var state = models[i].ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                transformed.Add(state);
                foreach (var space in points)
                {
                    using var scope = torch.NewDisposeScope();
                    var match = matches[space.Name];
                    var c = space.Width;
                    // N·M̃ᵢ: the factor N undoes the final mean over models (§4.2).
                    var m = match.Merge.narrow(1, i * c, c).to(ScalarType.Float32) * n;
                    var u = match.Unmerge.narrow(0, i * c, c).to(ScalarType.Float32);
                    foreach (var axis in space.Producers) AxisTransform.Merge(state[axis.Tensor], axis, m);
                    foreach (var axis in space.Norms)
                        AxisTransform.Merge(state[axis.Tensor], axis, axis.Kind == TensorKind.RunningVar && options.SquaredRunningVar ? m * m / n : m);
                    foreach (var axis in space.Consumers) AxisTransform.Unmerge(state[axis.Tensor], axis, u);
                }
            }

            var trunkKeys = models[0].Keys.Where(k => stopStage is null || InTrunk(graph, k, stopStage.Value)).ToList();
            var trunk = trunkKeys.ToDictionary(k => k, k => Mean(transformed.Select(t => t[k]).ToList()));
            var heads = stopStage is null
                ? []
                : transformed.Select(t => t.Where(kv => !InTrunk(graph, kv.Key, stopStage.Value)).ToDictionary(kv => kv.Key, kv => kv.Value.clone())).ToList();
            return new ZippedModel(trunk, heads, stopStage);
        }
        finally
        {
            foreach (var t in transformed) foreach (var v in t.Values) v.Dispose();
        }
    }

    /// <summary>The points a zip stopping after <paramref name="stopStage"/> processes, in processing order.</summary>
    public static IReadOnlyList<FeatureSpace> PointsUpTo(MergeGraph graph, int? stopStage)
    {
        if (stopStage is null) return graph.Spaces;
        var last = graph.Stages[stopStage.Value].OutputSpace
                   ?? throw new ArgumentException($"stage '{graph.Stages[stopStage.Value].Name}' does not end in a feature space");
        var index = graph.Spaces.ToList().FindIndex(s => s.Name == last);
        return graph.Spaces.Take(index + 1).ToList();
    }

    private static bool InTrunk(MergeGraph graph, string key, int stopStage) => graph.StageOf(key) is var s && s >= 0 && s <= stopStage;

    // Integer tensors (BatchNorm's num_batches_tracked) are counters, not weights: model 0's is kept.
    private static Tensor Mean(IReadOnlyList<Tensor> tensors) =>
        tensors[0].is_floating_point() ? torch.stack(tensors).mean([0]) : tensors[0].clone();
}
