using Microsoft.Extensions.Logging;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// <c>permute</c>: the permutation baseline (<c>match_tensors_permute</c>). Model 0 keeps its order;
/// every other model is aligned to model 0 on its own by a maximising linear assignment on the
/// correlation block between the two (a star around model 0, as the reference does for N &gt; 2, not
/// a joint alignment). Merged feature r averages model 0's unit r with each model's unit assigned
/// to it, weight 1/(N + 1e-5) each.
/// </summary>
/// <remarks>
/// A grouped point (G &gt; 1 groups of g units) is aligned at two levels (mudsc-method.md §6.3): every
/// pair (group j of model 0, group k of model i) is scored by the mean correlation of its own
/// maximising g×g assignment, a G×G assignment on these scores pairs the groups, and each chosen
/// pair keeps its within-group assignment. Merged group r (slots r·g … r·g + g − 1) is model 0's
/// group r, in model 0's order, with its partner group of every model (a star around model 0 for
/// N &gt; 2). Points tied by <see cref="FeatureSpace.GroupTie"/> share one group assignment, solved on
/// their summed scores.
/// </remarks>
public sealed class PermuteMatcher : IMatcher
{
    public const string MatcherName = "permute";

    public string Name => MatcherName;

    public string Description => "permutation baseline: aligns every model to model 0 by linear assignment on activation correlation, then averages";

    public IReadOnlyList<MatcherParameter> Parameters { get; } = [MatchMatrices.UntieHeadsParameter, MatchMatrices.EpsilonParameter];

    public MatcherInputs RequiredInputs(MatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _ = MatchMatrices.Epsilon(settings);
        return MatcherInputs.Activations;
    }

    public IReadOnlyDictionary<string, MatchResult> Match(MatchContext context)
    {
        MatchInput.CheckContext(MatcherName, context);
        var epsilon = MatchMatrices.Epsilon(context.Settings);
        var models = context.ModelCount;

        var results = new Dictionary<string, MatchResult>(StringComparer.Ordinal);
        var pairings = new GroupPairings(MatcherName, context, untie: context.Settings.GetBool(MatchMatrices.UntieHeadsParameter.Name));
        foreach (var point in context.Points)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (GroupMatching.GroupCount(point) is { } groups)
            {
                var pairing = pairings.For(point, groups);
                results[point.Name] = MatchMatrices.FromAssignment(GroupMatching.Permute(pairing, models, point.Width), point.Width, epsilon);
                context.Logger.LogDebug("permute: matched {Point} ({Models}×{Width} units, {Groups} groups)", point.Name, models, point.Width, groups);
                continue;
            }
            var covariance = MatchInput.Covariance(MatcherName, point, models);
            var width = point.Width;
            var featureOf = StarAlignment.Match(covariance, models, width).FeatureOf;
            results[point.Name] = MatchMatrices.FromAssignment(featureOf, width, epsilon);
            context.Logger.LogDebug("permute: matched {Point} ({Models}×{Width} units)", point.Name, models, width);
        }
        return results;
    }
}
