using ZipIt.Engine.Core;
using ZipIt.Engine.Zip;

namespace ZipIt.Engine.Models;

/// <summary>The check the stages after a zip (refit, REPAIR) make before they touch a merged model: that it is the zip of the base models they were given.</summary>
internal static class ZippedFrom
{
    /// <summary>
    /// Exit 3 unless <paramref name="merged"/> can be the zip of <paramref name="bases"/> by
    /// <paramref name="matches"/>: single-head base models of the merged model's configuration, one
    /// head per base model for a partial zip, merge matrices [C, N·C] for every point the zip merged.
    /// </summary>
    /// <param name="stage">The stage asking, for its messages ("a refit", "a repair").</param>
    public static void Require(IReadOnlyList<LoadedModel> bases, LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches, string stage)
    {
        var name = merged.Name;
        if (bases.Count < 1) throw ZipItException.Usage($"{stage} needs the base models the merged model was made from");
        foreach (var b in bases)
        {
            if (b.Layout is not null)
                throw ZipItException.Input($"{b.Name}: a base model must be a single model, not a partial zip ({b.Layout.Heads} heads)");
            if (!b.Config.Equals(merged.Config))
                throw ZipItException.Input($"{name} is {merged.Config} but {b.Name} is {b.Config}: {stage} needs the models the merged model was zipped from");
        }
        if (merged.Layout is { } layout && layout.Heads != bases.Count)
            throw ZipItException.Input($"{name} has {layout.Heads} heads, one per model it was zipped from, but {bases.Count} base models were given");
        foreach (var point in Zipper.PointsUpTo(merged.Graph, merged.Layout?.StopStage))
        {
            if (!matches.TryGetValue(point.Name, out var match))
                throw ZipItException.Input($"the matches do not cover merge point '{point.Name}', which {name} merges");
            long c = point.Width, n = bases.Count;
            if (match.Merge.dim() != 2 || match.Merge.shape[0] != c || match.Merge.shape[1] != n * c)
                throw ZipItException.Input($"merge point '{point.Name}': the merge matrix is [{string.Join(",", match.Merge.shape)}], {n} models of {c} units need [{c},{n * c}]");
        }
    }
}
