using Microsoft.Extensions.Logging;
using static TorchSharp.torch;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Core;

using ZipIt.Matching;

namespace ZipIt.Engine.Matching;

/// <summary>
/// The match stage shared by <c>match</c> and <c>merge</c>: settings checked against what the
/// matcher declares, the matcher run, and its output checked like any input before anyone uses it.
/// </summary>
internal static class MatchStage
{
    /// <summary>The match points of <paramref name="spaces"/>, with their statistics where collected (matchers that read weights only need none).</summary>
    public static List<MatchPoint> Points(IEnumerable<FeatureSpace> spaces, PointStatistics statistics) =>
        spaces.Select(p => new MatchPoint(p.Name, p.Width)
        {
            Space = p,
            Groups = p.Groups,
            Covariance = statistics.TryGet(p.Name, out var s) ? s.Covariance : null,
            Mean = statistics.TryGet(p.Name, out var t) ? t.Mean : null,
        }).ToList();

    /// <summary>
    /// The values of a run: the preset's settings (when one is named), then <paramref name="values"/>
    /// over them. An unknown preset is a usage error naming the matcher's presets.
    /// </summary>
    public static MatcherSettings Settings(IMatcher matcher, IReadOnlyDictionary<string, string> values, string? preset)
    {
        if (preset is null) return Settings(matcher, values);
        var chosen = matcher.Presets.FirstOrDefault(p => string.Equals(p.Name, preset, StringComparison.OrdinalIgnoreCase))
            ?? throw ZipItException.Usage($"--preset {preset}: matcher {matcher.Name} has {(matcher.Presets.Count == 0 ? "no presets" : "presets " + string.Join(", ", matcher.Presets.Select(p => p.Name)))}");
        var merged = new Dictionary<string, string>(chosen.Settings, StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in values) merged[k] = v;
        return Settings(matcher, merged);
    }

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

    public static MatchSet Run(IMatcher matcher, MatcherSettings settings, IReadOnlyList<MatchPoint> points, int models,
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
        var set = new MatchSet(matches);
        try
        {
            foreach (var p in points)
            {
                if (!matches.TryGetValue(p.Name, out var m))
                    throw ZipItException.Plugin($"matcher {matcher.Name} returned no result for point '{p.Name}'");
                long c = p.Width;
                if (!m.Merge.shape.SequenceEqual([c, models * c]) || !m.Unmerge.shape.SequenceEqual([models * c, c]))
                    throw ZipItException.Plugin($"matcher {matcher.Name}: point '{p.Name}' merge {Output.Format.Shape(m.Merge.shape)} / unmerge {Output.Format.Shape(m.Unmerge.shape)}, expected [{c},{models * c}] / [{models * c},{c}]");
                if (!m.Merge.isfinite().all().item<bool>() || !m.Unmerge.isfinite().all().item<bool>())
                    throw ZipItException.Plugin($"matcher {matcher.Name}: point '{p.Name}' has non-finite merge or unmerge values");
            }
            return set;
        }
        catch
        {
            set.Dispose();
            throw;
        }
    }
}
