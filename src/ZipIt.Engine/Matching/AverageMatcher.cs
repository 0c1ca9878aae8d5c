using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// <c>average</c>: identity matching (<c>match_tensors_identity</c>), i.e. plain weight averaging:
/// merged feature r averages unit r of every model, weight 1/(N + 1e-5) each. Needs no statistics;
/// keeps any group structure intact, since unit r of every model lands in slot r.
/// </summary>
public sealed class AverageMatcher : IMatcher
{
    public const string MatcherName = "average";

    public string Name => MatcherName;

    public string Description => "weight averaging: unit r of every model forms merged unit r (no statistics needed)";

    public IReadOnlyList<MatcherParameter> Parameters { get; } = [MatchMatrices.EpsilonParameter];

    public MatcherInputs RequiredInputs(MatcherSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _ = MatchMatrices.Epsilon(settings);
        return MatcherInputs.None;
    }

    public IReadOnlyDictionary<string, MatchResult> Match(MatchContext context)
    {
        MatchInput.CheckContext(MatcherName, context);
        var epsilon = MatchMatrices.Epsilon(context.Settings);
        var results = new Dictionary<string, MatchResult>(StringComparer.Ordinal);
        foreach (var point in context.Points)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            // Groups are whole blocks here, so they need no check: identity keeps every group in place.
            if (point.Groups is { } groups && (groups.Count < 1 || point.Width % groups.Count != 0))
                throw new ArgumentException($"point '{point.Name}': width {point.Width} is not divisible into {groups.Count} groups");
            var featureOf = new int[context.ModelCount * point.Width];
            for (var k = 0; k < featureOf.Length; k++) featureOf[k] = k % point.Width;
            results[point.Name] = MatchMatrices.FromAssignment(featureOf, point.Width, epsilon);
        }
        return results;
    }
}
