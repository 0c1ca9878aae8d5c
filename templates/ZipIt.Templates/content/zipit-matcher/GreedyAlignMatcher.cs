using System.Globalization;
using ZipIt;
using static TorchSharp.torch;

namespace MyZipItMatcher;

/// <summary>
/// Aligns every model to model 0 one-to-one, pairing units greedily by the highest activation
/// correlation still free, then averages each aligned tuple: a fast stand-in for the optimal
/// permutation matcher. Uses only the plugin contract.
/// </summary>
public sealed class GreedyAlignMatcher : IMatcher
{
    /// <inheritdoc />
    public string Name => "greedy-align";

    /// <inheritdoc />
    public string Description => "Greedy one-to-one alignment of every model to model 0 by activation correlation, then averaging";

    /// <inheritdoc />
    public IReadOnlyList<MatcherParameter> Parameters { get; } =
    [
        new("eps", "1e-8", "Variance floor of the correlation (dead units correlate 0)"),
    ];

    /// <inheritdoc />
    public MatcherInputs RequiredInputs(MatcherSettings settings)
    {
        if (settings.GetDouble("eps") <= 0) throw new ArgumentException("matcher setting 'eps' must be positive");
        return MatcherInputs.Activations;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, MatchResult> Match(MatchContext context)
    {
        var eps = Eps(context.Settings);
        var results = new Dictionary<string, MatchResult>();
        foreach (var point in context.Points)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            results[point.Name] = MatchPoint(point, context.ModelCount, eps);
        }
        return results;
    }

    private double Eps(MatcherSettings settings)
    {
        RequiredInputs(settings);
        return settings.GetDouble("eps");
    }

    private static MatchResult MatchPoint(MatchPoint point, int models, double eps)
    {
        var c = point.Width;
        if (point.Groups is { Count: > 1 } groups)
            throw new ArgumentException($"point '{point.Name}' has {groups.Count} groups; greedy-align matches ungrouped points only");
        var covariance = point.Covariance ?? throw new ArgumentException($"point '{point.Name}' has no covariance: collect activations first");
        if (covariance.shape is not [var rows, var cols] || rows != (long)models * c || cols != rows)
            throw new ArgumentException($"point '{point.Name}': covariance has shape [{string.Join(",", covariance.shape)}], expected [{models * c},{models * c}]");

        using var scope = NewDisposeScope();
        var std = covariance.diagonal().clamp_min(eps).sqrt();
        var correlation = (covariance / std.outer(std)).to(ScalarType.Float64);
        var n = models * c;
        var merge = new float[c * n];
        var unmerge = new float[n * c];
        for (var g = 0; g < c; g++)
        {
            merge[g * n + g] = 1f / models;
            unmerge[g * c + g] = 1f;
        }
        for (var m = 1; m < models; m++)
        {
            var block = correlation.narrow(0, 0, c).narrow(1, (long)m * c, c).contiguous();
            var partnerOf = Greedy(block.data<double>().ToArray(), c);
            for (var g = 0; g < c; g++)
            {
                merge[g * n + m * c + partnerOf[g]] = 1f / models;
                unmerge[(m * c + partnerOf[g]) * c + g] = 1f;
            }
        }
        // Created outside the scope: the caller owns the results.
        return new MatchResult(tensor(merge, [c, n]).DetachFromDisposeScope(), tensor(unmerge, [n, c]).DetachFromDisposeScope());
    }

    /// <summary>partner[i]: the unit of the other model paired with model 0's unit i, highest correlation first (ties by index).</summary>
    private static int[] Greedy(double[] scores, int c)
    {
        var order = Enumerable.Range(0, c * c).OrderByDescending(k => scores[k]).ThenBy(k => k).ToArray();
        var partner = Enumerable.Repeat(-1, c).ToArray();
        var taken = new bool[c];
        var left = c;
        foreach (var k in order)
        {
            int i = k / c, j = k % c;
            if (partner[i] >= 0 || taken[j]) continue;
            partner[i] = j;
            taken[j] = true;
            if (--left == 0) break;
        }
        return partner;
    }
}
