using Microsoft.Extensions.Logging;

namespace ZipIt.Matching;

/// <summary>
/// Group pairings for the grouped points of a run, computed on first use. Points whose
/// <see cref="FeatureSpace.GroupTie"/> is the same (non-null) key share one group assignment,
/// solved on the sum of their group-pair scores (so a head's q/k and v move together); each
/// keeps its own within-group assignments.
/// </summary>
/// <remarks>
/// Scores come from each point's covariance unless a <c>score</c> function is given (MuDSC scores
/// a point on its blended similarity of the moment). <c>untie</c> pairs every point on its own, as
/// the reference code does, for comparison.
/// </remarks>
public sealed class GroupPairings(string matcher, MatchContext context, Func<MatchPoint, int, GroupScores>? score = null, bool untie = false)
{
    private readonly Dictionary<string, GroupPairing> _done = new(StringComparer.Ordinal);

    /// <summary>The pairing of <paramref name="point"/> (with <paramref name="groups"/> groups), computed together with its tied points on first use.</summary>
    public GroupPairing For(MatchPoint point, int groups)
    {
        if (_done.TryGetValue(point.Name, out var pairing)) return pairing;
        var models = context.ModelCount;
        // untie: the reference's behaviour, every point paired on its own (a head's q/k and v may then
        // land in different merged heads, which breaks attention; kept for comparison).
        var tie = untie ? null : point.Space?.GroupTie;
        List<MatchPoint> members = tie is null
            ? [point]
            : context.Points.Where(p => p.Space?.GroupTie == tie && GroupMatching.GroupCount(p) is not null).ToList();
        var scores = new List<GroupScores>();
        foreach (var member in members)
        {
            var count = GroupMatching.GroupCount(member)!.Value;
            if (count != groups)
                throw new ArgumentException(
                    $"points '{point.Name}' and '{member.Name}' share the group tie '{tie}' but have {groups} and {count} groups");
            scores.Add(score is not null
                ? score(member, groups)
                : GroupMatching.Score(MatchInput.Covariance(matcher, member, models), models, member.Width, groups, context.CancellationToken));
        }
        var total = new double[models][];
        for (var model = 1; model < models; model++)
        {
            total[model] = new double[groups * groups];
            foreach (var s in scores)
                for (var k = 0; k < total[model].Length; k++) total[model][k] += s.ScoreArray[model][k];
        }
        for (var i = 0; i < members.Count; i++) _done[members[i].Name] = GroupMatching.Pair(scores[i], total, models);
        if (members.Count > 1)
            context.Logger.LogDebug("{Matcher}: one group assignment for the points tied as '{Tie}': {Points}",
                matcher, tie, string.Join(", ", members.Select(p => p.Name)));
        return _done[point.Name];
    }
}
