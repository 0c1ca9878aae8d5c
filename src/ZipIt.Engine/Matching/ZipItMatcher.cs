using System.Globalization;
using Microsoft.Extensions.Logging;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// <c>zipit</c>: the ZipIt! greedy matcher (Stoica et al., ICLR 2024), with the reference
/// implementation's behaviour by default and the paper's intent behind options.
/// </summary>
/// <remarks>
/// <para>Reference behaviour reproduced (spec §3.1, §10): only the diagonal is masked at the start;
/// a merged feature keeps the place (and the owner model) of its lower-index parent, and its
/// similarity to every other feature is α·min(parents) in float32; the same-model quota per model is
/// ⌊⌊(N−1)·C/N⌋·β + 1e-4⌋ and is checked after the decrement, so β = 0 still lets each model make one
/// same-model merge (P9); a model whose quota is spent has all pairs of its current features masked;
/// α ≤ 0 takes the reference's branch that masks fixed position ranges of the shrinking matrix (P10);
/// ties go to the first maximum in row-major order; merge weights are 1/(count + 1e-5) (P12).</para>
/// <para>Where the reference would corrupt its output (every remaining pair masked, which happens
/// for N &gt; 2 with small β: its argmax lands on the diagonal and a feature is lost) this matcher
/// lifts the masks for the remaining merges, continuing from the similarities the features would
/// have had without them, and logs a warning.</para>
/// <para>A grouped point (G &gt; 1 groups of g units) is zipped group by group (mudsc-method.md §6.4):
/// the groups of every model are paired with model 0's as <c>permute</c> pairs them (§6.3), and the
/// N·g units of merged group r (model 0's group r and its partners) are zipped to g features by
/// this greedy on their own correlation sub-matrix, filling slots r·g … r·g + g − 1. Same-model
/// merges are limited by the model budget above, carried across the groups, and by a per-group
/// budget ⌊(N−1)·C/(N·G)⌋ (g/2 for N = 2). See <see cref="GroupMatching.Zip"/>.</para>
/// </remarks>
public sealed class ZipItMatcher : IMatcher
{
    public const string MatcherName = "zipit";

    private static readonly MatcherParameter AlphaParameter = new(
        "alpha", "0.5",
        "decay of repeated matches: a merged feature's similarity is alpha·min(parents'); alpha <= 0 runs the reference's alpha <= 0 branch");
    private static readonly MatcherParameter BetaParameter = new(
        "beta", "0.5",
        "same-model budget: each model may make floor(floor((N-1)·C/N)·beta) merges between its own features (>= 0)");
    private static readonly MatcherParameter StrictBetaParameter = new(
        "strict-beta", "false",
        "true: a zero budget allows no same-model merge, so beta=0 is pure cross-model matching (paper); false: one is still allowed (reference)");
    private static readonly MatcherParameter NoRepeatParameter = new(
        "no-repeat", "false",
        "true: a merged feature is never merged again (the paper's greedy-match ablation, done right; alpha is then unused); false: reference");

    public string Name => MatcherName;

    public string Description => "ZipIt! greedy matching of features within and across models (alpha, beta)";

    public IReadOnlyList<MatcherParameter> Parameters { get; } =
        [AlphaParameter, BetaParameter, StrictBetaParameter, NoRepeatParameter, MatchMatrices.UntieHeadsParameter, MatchMatrices.EpsilonParameter];

    public MatcherInputs RequiredInputs(MatcherSettings settings)
    {
        _ = ReadOptions(settings);
        _ = MatchMatrices.Epsilon(settings);
        return MatcherInputs.Activations;
    }

    public IReadOnlyDictionary<string, MatchResult> Match(MatchContext context)
    {
        MatchInput.CheckContext(MatcherName, context);
        var options = ReadOptions(context.Settings);
        var epsilon = MatchMatrices.Epsilon(context.Settings);
        if (options.NoRepeat && context.ModelCount > 2)
            throw new ArgumentException(
                $"matcher setting 'no-repeat' needs 2 models: without repeated merges {context.ModelCount} models cannot be reduced to one model's width");

        var results = new Dictionary<string, MatchResult>(StringComparer.Ordinal);
        var pairings = new GroupPairings(MatcherName, context, untie: context.Settings.GetBool(MatchMatrices.UntieHeadsParameter.Name));
        foreach (var point in context.Points)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (GroupMatching.GroupCount(point) is { } groups)
            {
                results[point.Name] = MatchGrouped(context, point, groups, pairings.For(point, groups), options, epsilon);
                continue;
            }
            var covariance = MatchInput.Covariance(MatcherName, point, context.ModelCount);
            ZipItGreedyResult match;
            try
            {
                match = ZipItGreedy.Match(Correlation.Compute(covariance), context.ModelCount, point.Width, options,
                    original: () => Correlation.Compute(covariance), context.CancellationToken);
            }
            catch (InvalidOperationException e)
            {
                throw new ArgumentException($"point '{point.Name}': {e.Message}", e);
            }
            if (match.MasksLiftedAt >= 0)
                context.Logger.LogWarning(
                    "zipit: point '{Point}': every remaining pair was masked after {Done} of {Merges} merges; the last {Left} ignore the masks " +
                    "(the reference would lose a feature here); a larger beta usually avoids this",
                    point.Name, match.MasksLiftedAt, (context.ModelCount - 1) * point.Width,
                    (context.ModelCount - 1) * point.Width - match.MasksLiftedAt);
            var featureOf = match.FeatureOf;
            results[point.Name] = MatchMatrices.FromAssignment(featureOf, point.Width, epsilon);
            context.Logger.LogDebug("zipit: matched {Point} ({Models}×{Width} units)", point.Name, context.ModelCount, point.Width);
        }
        return results;
    }

    private static MatchResult MatchGrouped(MatchContext context, MatchPoint point, int groups, GroupPairing pairing,
        ZipItOptions options, float epsilon)
    {
        var covariance = MatchInput.Covariance(MatcherName, point, context.ModelCount);
        GroupZipResult match;
        try
        {
            match = GroupMatching.Zip(Correlation.Compute(covariance), pairing, context.ModelCount, point.Width, options,
                context.CancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new ArgumentException($"point '{point.Name}': {e.Message}", e);
        }
        var size = point.Width / groups;
        foreach (var (group, liftedAt) in match.Lifted)
            context.Logger.LogWarning(
                "zipit: point '{Point}', merged group {Group}: every remaining pair was masked after {Done} of {Merges} merges; the last {Left} ignore the masks " +
                "(the reference would lose a feature here); a larger beta usually avoids this",
                point.Name, group, liftedAt, (context.ModelCount - 1) * size, (context.ModelCount - 1) * size - liftedAt);
        context.Logger.LogDebug("zipit: matched {Point} ({Models}×{Width} units, {Groups} groups)", point.Name, context.ModelCount, point.Width, groups);
        return MatchMatrices.FromAssignment(match.FeatureOf, point.Width, epsilon);
    }

    private static ZipItOptions ReadOptions(MatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var alpha = settings.GetDouble(AlphaParameter.Name);
        // The reference scales float32 similarities by float32(alpha); one that rounds to 0 or ∞
        // there would turn −∞·0 or 0·∞ into NaN.
        var single = (float)alpha;
        if (alpha > 0 && (single == 0f || float.IsInfinity(single)))
            throw new ArgumentException($"matcher setting 'alpha' must be 0 or less, or between 1e-45 and 3.4e38, got {alpha.ToString(CultureInfo.InvariantCulture)}");
        var beta = settings.GetDouble(BetaParameter.Name);
        if (beta < 0)
            throw new ArgumentException($"matcher setting 'beta' must be at least 0, got {beta.ToString(CultureInfo.InvariantCulture)}");
        return new ZipItOptions(alpha, beta,
            StrictBeta: settings.GetBool(StrictBetaParameter.Name),
            NoRepeat: settings.GetBool(NoRepeatParameter.Name));
    }
}
