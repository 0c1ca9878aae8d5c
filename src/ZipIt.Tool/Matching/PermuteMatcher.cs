using Microsoft.Extensions.Logging;

namespace ZipIt.Matching;

/// <summary>
/// <c>permute</c>: the permutation baseline (<c>match_tensors_permute</c>). Model 0 keeps its order;
/// every other model is aligned to model 0 on its own by a maximising linear assignment on the
/// correlation block between the two (a star around model 0, as the reference does for N &gt; 2, not
/// a joint alignment). Merged feature r averages model 0's unit r with each model's unit assigned
/// to it, weight 1/(N + 1e-5) each.
/// </summary>
public sealed class PermuteMatcher : IMatcher
{
    public const string MatcherName = "permute";

    public string Name => MatcherName;

    public string Description => "permutation baseline: aligns every model to model 0 by linear assignment on activation correlation, then averages";

    public IReadOnlyList<MatcherParameter> Parameters { get; } = [MatchMatrices.EpsilonParameter];

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
        foreach (var point in context.Points)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            MatchInput.RejectGroups(MatcherName, point);
            var covariance = MatchInput.Covariance(MatcherName, point, models);
            var width = point.Width;
            var size = models * width;

            var featureOf = new int[size];
            for (var r = 0; r < width; r++) featureOf[r] = r;
            var block = new double[width * width];
            for (var model = 1; model < models; model++)
            {
                // Rows: model 0's units; columns: model `model`'s units. Only this block is needed.
                var correlation = Correlation.Block(covariance, 0, width, model * width, width);
                for (var k = 0; k < block.Length; k++) block[k] = correlation[k];
                var columnOf = LinearAssignment.Maximize(block, width);
                for (var r = 0; r < width; r++) featureOf[model * width + columnOf[r]] = r;
            }
            results[point.Name] = MatchMatrices.FromAssignment(featureOf, width, epsilon);
            context.Logger.LogDebug("permute: matched {Point} ({Models}×{Width} units)", point.Name, models, width);
        }
        return results;
    }
}
