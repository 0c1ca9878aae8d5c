using Microsoft.Extensions.Logging;
using ZipIt.Matching;

namespace ZipIt.Plugins.MuDsc;

/// <summary>
/// Ψ of mudsc-method.md §6 on one unit of the sweeps: a point, or the points tied by
/// <see cref="FeatureSpace.GroupTie"/> (a head's q/k and v). A plain point gets the shared ZipIt!
/// greedy or star alignment; grouped points their group forms (a merged group draws whole groups
/// from every model, §6.3–§6.5). The points of a tie are matched together: one group assignment,
/// solved on the sum of their group-pair scores, then every member's within-group matching under
/// it, so no member is ever left on a pairing that another member's rematch has replaced.
/// </summary>
internal sealed class PointMatcher(MatchContext context, MuDscOptions options)
{
    /// <summary>A point's matching and its "merge value".</summary>
    public readonly record struct Assignment(int[] FeatureOf, double Objective);

    private readonly int _models = context.ModelCount;

    /// <summary>Matches one unit of the sweeps.</summary>
    /// <param name="unit">A point, or every point of one tie.</param>
    /// <param name="similarities">Each member's similarity, [N·C, N·C] row-major; not modified.</param>
    /// <returns>Each member's assignment, in the order of <paramref name="unit"/>.</returns>
    public Assignment[] Match(IReadOnlyList<MatchPoint> unit, IReadOnlyList<float[]> similarities)
    {
        if (unit.Count != similarities.Count) throw new ArgumentException("one similarity per point of the unit is needed");
        if (GroupMatching.GroupCount(unit[0]) is { } groups) return MatchGrouped(unit, groups, similarities);
        if (unit.Count != 1) throw new ArgumentException($"point '{unit[0].Name}' is not grouped, so it cannot be tied to other points");
        return [MatchPlain(unit[0], similarities[0])];
    }

    private Assignment MatchPlain(MatchPoint point, float[] similarity)
    {
        var width = point.Width;
        if (options.Mode == MuDscMode.Align)
        {
            var aligned = StarAlignment.Match(similarity, _models, width);
            return new Assignment(aligned.FeatureOf, aligned.Objective);
        }
        // The greedy overwrites its input: the caller's similarity (S_act is reused every sweep) must stay intact.
        var zipped = ZipItGreedy.Match((float[])similarity.Clone(), _models, width, options.Zip,
            original: () => (float[])similarity.Clone(), context.CancellationToken);
        if (zipped.MasksLiftedAt >= 0)
            context.Logger.LogWarning("mudsc: point '{Point}': every remaining pair was masked after {Done} merges; the rest ignore the masks (a larger beta usually avoids this)",
                point.Name, zipped.MasksLiftedAt);
        return new Assignment(zipped.FeatureOf, zipped.Objective);
    }

    private Assignment[] MatchGrouped(IReadOnlyList<MatchPoint> unit, int groups, IReadOnlyList<float[]> similarities)
    {
        var byName = new Dictionary<string, float[]>(StringComparer.Ordinal);
        for (var i = 0; i < unit.Count; i++) byName[unit[i].Name] = similarities[i];
        var own = new Dictionary<string, GroupScores>(StringComparer.Ordinal);
        GroupScores Score(MatchPoint member, int count)
        {
            if (!byName.TryGetValue(member.Name, out var s))
                throw new InvalidOperationException($"point '{member.Name}' is tied to '{unit[0].Name}' but is not in its unit");
            return own[member.Name] = GroupMatching.Score(s, _models, member.Width, count, context.CancellationToken);
        }
        // A unit of one is paired on its own (untied heads, or a tie with one member left in the run).
        var pairings = new GroupPairings(MuDscMatcher.MatcherName, context, Score, untie: unit.Count == 1);
        var result = new Assignment[unit.Count];
        for (var i = 0; i < unit.Count; i++)
        {
            var point = unit[i];
            var pairing = pairings.For(point, groups);
            if (options.Mode == MuDscMode.Zip)
            {
                var zipped = GroupMatching.Zip(similarities[i], pairing, _models, point.Width, options.Zip, context.CancellationToken);
                foreach (var (group, liftedAt) in zipped.Lifted)
                    context.Logger.LogWarning("mudsc: point '{Point}', merged group {Group}: every remaining pair was masked after {Done} merges; the rest ignore the masks",
                        point.Name, group, liftedAt);
                result[i] = new Assignment(zipped.FeatureOf, zipped.Objective);
                continue;
            }
            // §6.6: the mean of the chosen group pairs' scores (the point's own, not the tie's sum).
            var objective = 0.0;
            for (var model = 1; model < _models; model++)
                for (var r = 0; r < groups; r++)
                    objective += own[point.Name].Score(model, r, pairing.GroupOf(model, r));
            result[i] = new Assignment(GroupMatching.Permute(pairing, _models, point.Width), objective / ((_models - 1) * groups));
        }
        return result;
    }
}
