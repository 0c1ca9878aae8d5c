using TorchSharp;
using ZipIt.Matching;
using static TorchSharp.torch;

namespace ZipIt.Engine.Zip;

/// <summary>
/// Applies the matches of every processed merge point to every model through the architecture's
/// declarative description, then averages: W* = Σᵢ M̃ᵢ·Wᵢ·Uᵢ, i.e. the mean over models of
/// (N·M̃ᵢ)·Wᵢ·Uᵢ. Producers and norm vectors of a point get N·M̃ᵢ on their axis, consumers get Uᵢ on
/// theirs; the transforms of different points commute (different axes). No architecture-specific
/// code: everything comes from the <see cref="MergeGraph"/>.
/// </summary>
/// <remarks>
/// A partial zip (stop after stage s) merges every point that has an axis in the trunk (stages up
/// to s) and transforms only trunk axes with M. Each model keeps its own head. At the stop, a point
/// that ends there (all its writers in the trunk: a ResNet stage boundary) has Uᵢ folded into the
/// head's first layers, as the paper does; a point that runs on into the heads (a ViT's residual
/// stream, written by every block) leaves the heads untouched, and each head gets Uᵢ as an explicit
/// entry transform of the trunk's output. A point that runs on into the heads anywhere but at the
/// stop has no place for its unmerge: such a stop is refused.
/// </remarks>
internal static class Zipper
{
    /// <summary>
    /// Zips <paramref name="models"/> (state dicts, same keys and shapes). <paramref name="stopStage"/>
    /// null: full zip, every point; otherwise the points with an axis in the trunk, and each model keeps its own head.
    /// </summary>
    public static ZippedModel Zip(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> models, MergeGraph graph,
        IReadOnlyDictionary<string, MatchResult> matches, int? stopStage, ZipOptions options)
    {
        var n = models.Count;
        var points = PointsUpTo(graph, stopStage);
        var entrySpace = EntrySpace(graph, stopStage);
        bool InHead(string tensor) => stopStage is { } s && !InTrunk(graph, tensor, s);
        var transformed = new List<Dictionary<string, Tensor>>();
        var entry = new List<Tensor>();
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
                    // N·M̃ᵢ: the factor N undoes the final mean over models.
                    var m = match.Merge.narrow(1, i * c, c).to(ScalarType.Float32) * n;
                    var u = match.Unmerge.narrow(0, i * c, c).to(ScalarType.Float32);
                    var runsOn = space.Name == entrySpace;
                    foreach (var axis in space.Producers)
                        if (!InHead(axis.Tensor)) AxisTransform.Merge(state[axis.Tensor], axis, m);
                    foreach (var axis in space.Norms)
                        if (!InHead(axis.Tensor))
                            AxisTransform.Merge(state[axis.Tensor], axis, axis.Kind == TensorKind.RunningVar && options.SquaredRunningVar ? m * m / n : m);
                    foreach (var axis in space.Consumers)
                        if (!(runsOn && InHead(axis.Tensor))) AxisTransform.Unmerge(state[axis.Tensor], axis, u);
                    if (runsOn) entry.Add(u.contiguous().DetachFromDisposeScope());
                }
            }

            var trunkKeys = models[0].Keys.Where(k => stopStage is null || InTrunk(graph, k, stopStage.Value)).ToList();
            var trunk = trunkKeys.ToDictionary(k => k, k => Mean(transformed.Select(t => t[k]).ToList()));
            var heads = stopStage is null
                ? []
                : transformed.Select(t => t.Where(kv => !InTrunk(graph, kv.Key, stopStage.Value)).ToDictionary(kv => kv.Key, kv => kv.Value.clone())).ToList();
            return new ZippedModel(trunk, heads, stopStage, entrySpace, entry);
        }
        catch
        {
            foreach (var t in entry) t.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in transformed) foreach (var v in t.Values) v.Dispose();
        }
    }

    /// <summary>
    /// The points a zip stopping after <paramref name="stopStage"/> merges, in processing order:
    /// every point for a full zip, else every point with an axis in a trunk stage.
    /// </summary>
    public static IReadOnlyList<FeatureSpace> PointsUpTo(MergeGraph graph, int? stopStage)
    {
        if (stopStage is not { } stop) return graph.Spaces;
        var points = graph.Spaces.Where(s => s.AllAxes.Any(a => InTrunk(graph, a.Tensor, stop))).ToList();
        if (graph.Stages[stop].OutputSpace is not { } output || points.All(p => p.Name != output))
            throw new ArgumentException($"stage '{graph.Stages[stop].Name}' does not end in a feature space");
        return points;
    }

    /// <summary>The point at the stop that runs on into the heads (so needs entry transforms), or null.</summary>
    public static string? EntrySpace(MergeGraph graph, int? stopStage)
    {
        if (stopStage is not { } stop) return null;
        string? entry = null;
        foreach (var space in PointsUpTo(graph, stopStage))
        {
            var writesInHead = space.Producers.Concat(space.Norms).Any(a => !InTrunk(graph, a.Tensor, stop));
            if (!writesInHead) continue;
            if (space.Name != graph.Stages[stop].OutputSpace)
                throw new ArgumentException(
                    $"feature space '{space.Name}' is written on both sides of stage '{graph.Stages[stop].Name}' and is not the space it ends in; the stop has nowhere to unmerge it");
            entry = space.Name;
        }
        return entry;
    }

    private static bool InTrunk(MergeGraph graph, string key, int stopStage) => graph.StageOf(key) is var s && s >= 0 && s <= stopStage;

    // Integer tensors (BatchNorm's num_batches_tracked) are counters, not weights: model 0's is kept.
    private static Tensor Mean(IReadOnlyList<Tensor> tensors) =>
        tensors[0].is_floating_point() ? torch.stack(tensors).mean([0]) : tensors[0].clone();
}
