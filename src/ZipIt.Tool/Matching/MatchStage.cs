using Microsoft.Extensions.Logging;
using static TorchSharp.torch;
using ZipIt.Core;

namespace ZipIt.Matching;

/// <summary>
/// The match stage shared by <c>match</c> and <c>merge</c>: settings checked against what the
/// matcher declares, the matcher run, and its output checked like any input before anyone uses it.
/// </summary>
internal static class MatchStage
{
    /// <summary>The match points of <paramref name="spaces"/>, with their statistics where collected (matchers that read weights only need none).</summary>
    public static List<MatchPoint> Points(IEnumerable<FeatureSpace> spaces, IReadOnlyDictionary<string, (Tensor Covariance, Tensor Mean)> statistics) =>
        spaces.Select(p => new MatchPoint(p.Name, p.Width)
        {
            Space = p,
            Groups = p.Groups,
            Covariance = statistics.TryGetValue(p.Name, out var s) ? s.Covariance : null,
            Mean = statistics.TryGetValue(p.Name, out var t) ? t.Mean : null,
        }).ToList();

    public static MatcherSettings Settings(IMatcher matcher, IReadOnlyDictionary<string, string> values)
    {
        try { return new MatcherSettings(matcher.Parameters, values); }
        catch (ArgumentException e) { throw ZipItException.Usage($"--matcher {matcher.Name}: {e.Message}"); }
    }

    public static MatcherInputs RequiredInputs(IMatcher matcher, MatcherSettings settings)
    {
        try { return matcher.RequiredInputs(settings); }
        catch (ArgumentException e) { throw ZipItException.Usage($"--matcher {matcher.Name}: {e.Message}"); }
    }

    public static IReadOnlyDictionary<string, MatchResult> Run(IMatcher matcher, MatcherSettings settings, IReadOnlyList<MatchPoint> points, int models,
        MergeGraph? graph, IReadOnlyList<IReadOnlyDictionary<string, Tensor>>? weights, long seed, ILogger logger, CancellationToken cancellation, string source)
    {
        var context = new MatchContext
        {
            ModelCount = models,
            Points = points,
            Settings = settings,
            Graph = graph,
            Weights = weights,
            Seed = seed,
            Logger = logger,
            CancellationToken = cancellation,
        };
        IReadOnlyDictionary<string, MatchResult> matches;
        try { matches = matcher.Match(context); }
        catch (ArgumentException e) { throw ZipItException.Input($"{source}: {Messages.OneLine(e.Message)}"); }
        foreach (var p in points)
        {
            if (!matches.TryGetValue(p.Name, out var m))
                throw ZipItException.Plugin($"matcher {matcher.Name} returned no result for point '{p.Name}'");
            long c = p.Width;
            if (!m.Merge.shape.SequenceEqual([c, models * c]) || !m.Unmerge.shape.SequenceEqual([models * c, c]))
                throw ZipItException.Plugin($"matcher {matcher.Name}: point '{p.Name}' merge {Output.Format.Shape(m.Merge.shape)} / unmerge {Output.Format.Shape(m.Unmerge.shape)}, expected [{c},{models * c}] / [{models * c},{c}]");
        }
        return matches;
    }
}
