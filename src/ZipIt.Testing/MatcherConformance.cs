using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Testing;

/// <summary>
/// The checks every matcher should pass on a graph with grouped and tied spaces (a ViT's attention
/// heads: a head's q/k and v tied), for any test framework: each method returns normally when the
/// matcher's result conforms and throws <see cref="ConformanceException"/> naming what is wrong.
/// <list type="bullet">
/// <item><see cref="TiedGroupsMoveTogether"/>: every merged group draws one whole group of each
/// model, and spaces with one <see cref="FeatureSpace.GroupTie"/> draw the same groups into the
/// same merged group (true of any matcher's result, alignment or zip);</item>
/// <item><see cref="AlignmentKeepsFunction"/>: for an alignment (each model's side a
/// permutation), applying one model's side to that model alone leaves its outputs unchanged.</item>
/// </list>
/// </summary>
public static class MatcherConformance
{
    /// <summary>
    /// Checks that every grouped space of <paramref name="graph"/> in <paramref name="results"/>
    /// keeps its groups whole (merged group r draws units of at most one group of each model) and
    /// that tied spaces agree: for each merged group and each model, every space of a tie draws
    /// from the same group. A head's q/k drawn from head 1 and its v from head 3 is a merged
    /// attention that mixes heads.
    /// </summary>
    /// <param name="graph">The models' merge graph.</param>
    /// <param name="results">A matcher's result, by space name; spaces it lacks are not checked.</param>
    /// <param name="modelCount">N, the number of models matched.</param>
    /// <exception cref="ConformanceException">A merged group mixes groups of one model, or tied spaces pair different groups.</exception>
    public static void TiedGroupsMoveTogether(MergeGraph graph, IReadOnlyDictionary<string, MatchResult> results, int modelCount)
    {
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(results);
        var firstOfTie = new Dictionary<string, (string Space, int[][] Sources)>(StringComparer.Ordinal);
        foreach (var space in graph.Spaces)
        {
            if (space.Groups is not { Count: > 1 } groups || !results.TryGetValue(space.Name, out var result)) continue;
            var sources = GroupSources(space, groups.Count, result, modelCount);
            if (space.GroupTie is not { } tie) continue;
            if (!firstOfTie.TryGetValue(tie, out var first))
            {
                firstOfTie[tie] = (space.Name, sources);
                continue;
            }
            for (var r = 0; r < groups.Count; r++)
                for (var model = 0; model < modelCount; model++)
                    if (first.Sources[r][model] != sources[r][model])
                        throw new ConformanceException(
                            $"spaces '{first.Space}' and '{space.Name}' are tied as '{tie}', but merged group {r} draws model {model}'s group {Name(first.Sources[r][model])} " +
                            $"into the first and its group {Name(sources[r][model])} into the second: the merged layer mixes groups (heads) that must move together");
        }
    }

    /// <summary>
    /// Checks that an alignment is a symmetry of one model: reads model <paramref name="model"/>'s
    /// side of every space's merge matrix as a permutation (each merged unit is one unit of that
    /// model), applies those permutations to that model alone through the merge graph
    /// (<see cref="GraphPermutation.Apply(IReadOnlyDictionary{string, Tensor}, MergeGraph, IReadOnlyDictionary{string, long[]})"/>),
    /// and compares the outputs before and after on <paramref name="input"/> in eval mode. Spaces
    /// without a result keep their order. Untied heads fail here: q/k and v of a head moved to
    /// different places compute another attention.
    /// </summary>
    /// <param name="architecture">The models' architecture.</param>
    /// <param name="config">Their configuration.</param>
    /// <param name="weights">Model <paramref name="model"/>'s state dict; not modified.</param>
    /// <param name="results">An alignment's result, by space name.</param>
    /// <param name="model">Which model's side to apply (0 ≤ model &lt; N).</param>
    /// <param name="modelCount">N, the number of models matched.</param>
    /// <param name="input">A batch the model accepts; not modified.</param>
    /// <param name="tolerance">The largest absolute output difference accepted.</param>
    /// <returns>The largest absolute difference between the outputs.</returns>
    /// <exception cref="ConformanceException">A side is not a permutation, or the outputs differ by more than <paramref name="tolerance"/>.</exception>
    public static double AlignmentKeepsFunction(IArchitecture architecture, ArchitectureConfig config, IReadOnlyDictionary<string, Tensor> weights,
        IReadOnlyDictionary<string, MatchResult> results, int model, int modelCount, Tensor input, double tolerance = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(input);
        if (model < 0 || model >= modelCount) throw new ArgumentOutOfRangeException(nameof(model), $"model {model} is not one of the {modelCount} models");
        var graph = architecture.Describe(config);
        var permutations = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var space in graph.Spaces)
            permutations[space.Name] = results.TryGetValue(space.Name, out var result)
                ? Permutation(space, result, model, modelCount)
                : Enumerable.Range(0, space.Width).Select(i => (long)i).ToArray();

        using var scope = NewDisposeScope();
        using var _ = no_grad();
        using var original = architecture.Create(config);
        original.load_state_dict(weights.ToDictionary(kv => kv.Key, kv => kv.Value));
        original.eval();
        var before = original.call(input);
        var permuted = GraphPermutation.Apply(weights, graph, permutations);
        using var twin = architecture.Create(config);
        twin.load_state_dict(permuted);
        twin.eval();
        var after = twin.call(input);
        var error = (before - after).abs().max().ToDouble();
        if (!(error <= tolerance))
            throw new ConformanceException(
                $"{config}: applying model {model}'s side of the alignment to model {model} alone changed its output by {error:E3} (tolerance {tolerance:E1}): " +
                "the alignment is not a symmetry of the model (tied spaces moved apart, or groups broken)");
        return error;
    }

    // sources[r][model]: the one group of that model whose units merged group r draws; -1 for none.
    private static int[][] GroupSources(FeatureSpace space, int groups, MatchResult result, int modelCount)
    {
        var width = space.Width;
        var size = width / groups;
        var merge = Values(result.Merge, width, modelCount, space.Name);
        var sources = new int[groups][];
        for (var r = 0; r < groups; r++)
        {
            sources[r] = Enumerable.Repeat(-1, modelCount).ToArray();
            for (var g = r * size; g < (r + 1) * size; g++)
                for (var column = 0; column < modelCount * width; column++)
                {
                    if (merge[(long)g * modelCount * width + column] == 0) continue;
                    var (model, group) = (column / width, column % width / size);
                    if (sources[r][model] >= 0 && sources[r][model] != group)
                        throw new ConformanceException(
                            $"space '{space.Name}': merged group {r} draws units of model {model}'s groups {sources[r][model]} and {group}: a group (head) must stay whole");
                    sources[r][model] = group;
                }
        }
        return sources;
    }

    private static long[] Permutation(FeatureSpace space, MatchResult result, int model, int modelCount)
    {
        var width = space.Width;
        var merge = Values(result.Merge, width, modelCount, space.Name);
        var permutation = new long[width];
        var used = new bool[width];
        for (var g = 0; g < width; g++)
        {
            var found = -1;
            for (var u = 0; u < width; u++)
            {
                if (merge[(long)g * modelCount * width + model * width + u] == 0) continue;
                if (found >= 0)
                    throw new ConformanceException($"space '{space.Name}': merged unit {g} draws model {model}'s units {found} and {u}: not an alignment (a zip cannot be applied to one model)");
                found = u;
            }
            if (found < 0 || used[found])
                throw new ConformanceException($"space '{space.Name}': model {model}'s side of the merge matrix is not a permutation (merged unit {g})");
            used[found] = true;
            permutation[g] = found;
        }
        return permutation;
    }

    private static float[] Values(Tensor merge, int width, int modelCount, string space)
    {
        if (!merge.shape.SequenceEqual([width, (long)modelCount * width]))
            throw new ConformanceException($"space '{space}': merge matrix [{string.Join(",", merge.shape)}], expected [{width},{modelCount * width}]");
        using var cpu = merge.to(ScalarType.Float32, CPU).contiguous();
        return cpu.data<float>().ToArray();
    }

    private static string Name(int group) => group < 0 ? "(none)" : group.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
