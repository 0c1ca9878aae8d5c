using Microsoft.Extensions.Logging;
using ZipIt.Matching;

namespace ZipIt.Plugins.MuDsc;

/// <summary>
/// Ψ of mudsc-method.md §6 on one point's similarity: the shared ZipIt! greedy or star alignment,
/// and their group forms for grouped points (a merged group draws whole groups from every model,
/// §6.3–§6.5). Points tied by <see cref="FeatureSpace.GroupTie"/> share one group assignment,
/// solved on the sum of their group-pair scores, each member scored on its latest similarity.
/// </summary>
internal sealed class PointMatcher(MatchContext context, MuDscOptions options, Func<MatchPoint, float[]> similarityOf)
{
    /// <summary>A point's matching and its "merge value".</summary>
    public readonly record struct Assignment(int[] FeatureOf, double Objective);

    private readonly int _models = context.ModelCount;

    /// <param name="point">The point.</param>
    /// <param name="similarity">Its similarity, [N·C, N·C] row-major; not modified.</param>
    public Assignment Match(MatchPoint point, float[] similarity)
    {
        if (GroupMatching.GroupCount(point) is { } groups) return MatchGrouped(point, groups, similarity);
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

    private Assignment MatchGrouped(MatchPoint point, int groups, float[] similarity)
    {
        GroupScores? own = null;
        GroupScores Score(MatchPoint member, int count)
        {
            var s = member.Name == point.Name ? similarity : similarityOf(member);
            var scores = GroupMatching.Score(s, _models, member.Width, count, context.CancellationToken);
            if (member.Name == point.Name) own = scores;
            return scores;
        }
        var pairing = new GroupPairings(MuDscMatcher.MatcherName, context, Score, options.UntieHeads).For(point, groups);
        if (options.Mode == MuDscMode.Zip)
        {
            var zipped = GroupMatching.Zip(similarity, pairing, _models, point.Width, options.Zip, context.CancellationToken);
            foreach (var (group, liftedAt) in zipped.Lifted)
                context.Logger.LogWarning("mudsc: point '{Point}', merged group {Group}: every remaining pair was masked after {Done} merges; the rest ignore the masks",
                    point.Name, group, liftedAt);
            return new Assignment(zipped.FeatureOf, zipped.Objective);
        }
        // §6.6: the mean of the chosen group pairs' scores (their own, not a tie's sum).
        var objective = 0.0;
        for (var model = 1; model < _models; model++)
            for (var r = 0; r < groups; r++)
                objective += own!.Score(model, r, pairing.GroupOf(model, r));
        return new Assignment(GroupMatching.Permute(pairing, _models, point.Width), objective / ((_models - 1) * groups));
    }
}
