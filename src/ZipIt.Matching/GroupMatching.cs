using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace ZipIt.Matching;

/// <summary>
/// The group-aware forms of <c>permute</c> and <c>zipit</c> (mudsc-method.md §6.3–§6.5, §9.2): a merged
/// group is built from exactly one group of every model, so attention heads and GroupNorm groups stay
/// whole, and units are matched only within the groups that form it.
/// </summary>
public static class GroupMatching
{
    /// <summary>
    /// The point's group count when it is grouped with more than one group; null for an ungrouped
    /// point or one group (which is the ungrouped case). Throws when the width does not divide.
    /// </summary>
    public static int? GroupCount(MatchPoint point)
    {
        if (point.Groups is not { } groups) return null;
        if (groups.Count < 1 || point.Width % groups.Count != 0)
            throw new ArgumentException($"point '{point.Name}': width {point.Width} is not divisible into {groups.Count} groups");
        return groups.Count > 1 ? groups.Count : null;
    }

    /// <summary>
    /// Group-pair scores of one point on the correlation of <paramref name="covariance"/> ([N·C, N·C];
    /// only the blocks beside model 0 are formed): see <see cref="GroupScores"/>.
    /// </summary>
    public static GroupScores Score(Tensor covariance, int models, int width, int groups, CancellationToken cancellation) =>
        Score(model => Correlation.Block(covariance, 0, width, model * width, width), models, width, groups, cancellation);

    /// <summary>
    /// <see cref="Score(Tensor, int, int, int, CancellationToken)"/> on a similarity that is already
    /// formed (row-major [N·C, N·C], e.g. MuDSC's blend of weight and activation correlation); read only.
    /// </summary>
    public static GroupScores Score(float[] similarity, int models, int width, int groups, CancellationToken cancellation) =>
        Score(StarAlignment.BlocksBesideModelZero(similarity, models, width), models, width, groups, cancellation);

    // blockOf(i): the [C, C] similarity between model 0's units (rows) and model i's (columns).
    private static GroupScores Score(Func<int, float[]> blockOf, int models, int width, int groups, CancellationToken cancellation)
    {
        var size = width / groups;
        var score = new double[models][];
        var inner = new int[models][][];
        var block = new double[size * size];
        for (var model = 1; model < models; model++)
        {
            var correlation = blockOf(model);
            score[model] = new double[groups * groups];
            inner[model] = new int[groups * groups][];
            for (var j = 0; j < groups; j++)
            {
                cancellation.ThrowIfCancellationRequested();
                for (var k = 0; k < groups; k++)
                {
                    for (var t = 0; t < size; t++)
                        for (var u = 0; u < size; u++)
                            block[t * size + u] = correlation[(j * size + t) * width + k * size + u];
                    var columnOf = LinearAssignment.Maximize(block, size);
                    var sum = 0.0;
                    for (var t = 0; t < size; t++) sum += block[t * size + columnOf[t]];
                    score[model][j * groups + k] = sum / size;
                    inner[model][j * groups + k] = columnOf;
                }
            }
        }
        return new GroupScores(groups, size, score, inner);
    }

    /// <summary>
    /// Pairs the groups of every model i ≥ 1 with model 0's by a maximising G×G assignment on
    /// <paramref name="score"/> (a point's own scores, or the sum over points whose group
    /// assignments are tied) and keeps, for each chosen pair, its within-group assignment from
    /// <paramref name="own"/>.
    /// </summary>
    internal static GroupPairing Pair(GroupScores own, double[][] score, int models)
    {
        var groups = own.Groups;
        var size = own.Size;
        var groupOf = new int[models][];
        var inner = new int[models][][];
        var identity = Enumerable.Range(0, size).ToArray();
        groupOf[0] = Enumerable.Range(0, groups).ToArray();
        inner[0] = Enumerable.Repeat(identity, groups).ToArray();
        for (var model = 1; model < models; model++)
        {
            groupOf[model] = LinearAssignment.Maximize(score[model], groups);
            inner[model] = new int[groups][];
            for (var r = 0; r < groups; r++) inner[model][r] = own.InnerArray[model][r * groups + groupOf[model][r]];
        }
        return new GroupPairing(groups, size, groupOf, inner);
    }

    /// <summary>
    /// Group alignment (§6.3): merged unit r·g + t is model 0's unit t of group r and, for every
    /// model i, unit InnerOf(i, r)[t] of its group GroupOf(i, r).
    /// </summary>
    public static int[] Permute(GroupPairing pairing, int models, int width)
    {
        var size = pairing.Size;
        var featureOf = new int[models * width];
        for (var model = 0; model < models; model++)
            for (var r = 0; r < pairing.Groups; r++)
            {
                var group = pairing.GroupOf(model, r);
                var inner = pairing.InnerOf(model, r);
                for (var t = 0; t < size; t++)
                    featureOf[model * width + group * size + inner[t]] = r * size + t;
            }
        return featureOf;
    }

    /// <summary>
    /// Group zip (§6.4). For r = 0..G−1 in turn, the N·g units of model 0's group r and of every
    /// model i's group GroupOf(i, r) are zipped down to g features by the ZipIt! greedy on their
    /// correlation sub-matrix alone (units in stacked order, so ties, owners and representatives
    /// are those of the greedy on the whole matrix with everything outside the union masked); the
    /// features fill merged slots r·g .. r·g + g − 1 in the greedy's order (model-0 representatives
    /// first). Same-model merges are charged to two budgets: the model budget of the ungrouped
    /// matcher (<see cref="ZipItOptions.Quota"/> for N models of C units), carried from one group
    /// to the next, and the per-group budget ⌊(N−1)·C / (N·G)⌋ (g/2 for N = 2; §5.2's b_group = 1).
    /// A model's same-model pairs are masked once either is spent; once the model budget is spent
    /// they stay masked in later groups.
    /// </summary>
    /// <param name="correlation">The point's whole correlation, row-major [N·C, N·C]; read only.</param>
    /// <param name="pairing">The group pairing (<see cref="GroupPairings"/>).</param>
    /// <param name="models">N.</param>
    /// <param name="width">C.</param>
    /// <param name="options">The greedy's α, β and variants.</param>
    /// <param name="cancellation">Checked once per group.</param>
    public static GroupZipResult Zip(float[] correlation, GroupPairing pairing, int models, int width, ZipItOptions options,
        CancellationToken cancellation)
    {
        var groups = pairing.Groups;
        var size = pairing.Size;
        var stacked = models * width;
        var units = models * size;
        var featureOf = new int[stacked];
        var lifted = new List<(int, int)>();

        var modelBudget = new int[models];
        Array.Fill(modelBudget, options.Quota(models, width));
        var modelMasked = new bool[models];
        if (options.StrictBeta && modelBudget[0] <= 0) Array.Fill(modelMasked, true);
        var groupBudget = (models - 1) * width / (models * groups);

        var members = new int[units];
        var objective = 0.0;
        for (var r = 0; r < groups; r++)
        {
            cancellation.ThrowIfCancellationRequested();
            for (var model = 0; model < models; model++)
            {
                var first = model * width + pairing.GroupOf(model, r) * size;
                for (var t = 0; t < size; t++) members[model * size + t] = first + t;
            }
            float[] Sub()
            {
                var s = new float[units * units];
                for (var a = 0; a < units; a++)
                {
                    var row = (long)members[a] * stacked;
                    for (var b = 0; b < units; b++) s[a * units + b] = correlation[row + members[b]];
                }
                return s;
            }

            var start = new int[models];
            for (var model = 0; model < models; model++) start[model] = Math.Min(modelBudget[model], groupBudget);
            var match = ZipItGreedy.Match(Sub(), models, size, options, original: Sub, cancellation, ZipItGreedy.DefaultCandidates,
                budget: new ZipItBudget(start, (bool[])modelMasked.Clone()));
            for (var a = 0; a < units; a++) featureOf[members[a]] = r * size + match.FeatureOf[a];
            for (var model = 0; model < models; model++)
            {
                var spent = match.SameModelMerges[model];
                modelBudget[model] -= spent;
                if (spent > 0 && modelBudget[model] <= 0) modelMasked[model] = true;
            }
            if (match.MasksLiftedAt >= 0) lifted.Add((r, match.MasksLiftedAt));
            objective += match.Objective;
        }
        return new GroupZipResult(featureOf, lifted, objective / groups);
    }
}
