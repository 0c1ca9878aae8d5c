using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Testing;

/// <summary>
/// Random permutations of a model's units through its <see cref="MergeGraph"/> alone: each feature
/// space's permutation is applied to every producer and norm axis and to every consumer axis. If the
/// description is complete and correct, the permuted network computes the same function.
/// </summary>
public static class GraphPermutation
{
    /// <summary>
    /// One random permutation per feature space (by name), drawn from <paramref name="seed"/>. A
    /// grouped space (<see cref="FeatureSpace.Groups"/>) moves whole contiguous groups and shuffles
    /// units within each group; spaces with one <see cref="FeatureSpace.GroupTie"/> move their groups
    /// in one and the same order (a head's q, k and v stay together).
    /// </summary>
    /// <exception cref="ConformanceException">Groups do not divide a width, or tied spaces have different group counts.</exception>
    public static IReadOnlyDictionary<string, long[]> RandomPermutations(MergeGraph graph, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(graph);
        using var g = new Generator(seed);
        var tied = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var result = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var space in graph.Spaces)
        {
            var groups = space.Groups?.Count ?? 1;
            if (groups <= 0 || space.Width % groups != 0)
                throw new ConformanceException($"feature space '{space.Name}': {groups} groups do not divide width {space.Width}");
            var size = space.Width / groups;
            long[] order;
            if (space.GroupTie is { } tie && tied.TryGetValue(tie, out var shared))
            {
                if (shared.Length != groups)
                    throw new ConformanceException($"feature space '{space.Name}' has {groups} groups, but another space tied by '{tie}' has {shared.Length}");
                order = shared;
            }
            else
            {
                using var groupOrder = randperm(groups, generator: g);
                order = groupOrder.data<long>().ToArray();
                if (space.GroupTie is { } newTie) tied[newTie] = order;
            }
            var perm = new long[space.Width];
            for (var j = 0; j < groups; j++)
            {
                using var within = randperm(size, generator: g);
                var w = within.data<long>().ToArray();
                for (var i = 0; i < size; i++) perm[j * size + i] = order[j] * size + w[i];
            }
            result[space.Name] = perm;
        }
        return result;
    }

    /// <summary>
    /// A permuted copy of <paramref name="stateDict"/>: every axis (or axis slice) of every space in
    /// <paramref name="graph"/> reordered by that space's permutation. Tensors in no space are cloned
    /// unchanged. The caller owns the returned tensors.
    /// </summary>
    /// <exception cref="ConformanceException">The graph names a tensor or axis the state dict lacks, or a permutation is missing or of the wrong length.</exception>
    public static Dictionary<string, Tensor> Apply(
        IReadOnlyDictionary<string, Tensor> stateDict, MergeGraph graph, IReadOnlyDictionary<string, long[]> permutations)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(permutations);
        using var _ = no_grad();
        var result = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
        try
        {
            foreach (var space in graph.Spaces)
            {
                if (!permutations.TryGetValue(space.Name, out var p) || p.Length != space.Width)
                    throw new ConformanceException($"feature space '{space.Name}': no permutation of its {space.Width} units");
                using var perm = tensor(p);
                foreach (var axis in space.AllAxes)
                {
                    if (!result.TryGetValue(axis.Tensor, out var t))
                        throw new ConformanceException($"feature space '{space.Name}': tensor '{axis.Tensor}' is not in the model's state dict");
                    if (axis.Axis < 0 || axis.Axis >= t.dim())
                        throw new ConformanceException($"feature space '{space.Name}': tensor '{axis.Tensor}' has no axis {axis.Axis}");
                    var length = axis.Length ?? t.shape[axis.Axis] - axis.Offset;
                    if (length != space.Width || axis.Offset < 0 || axis.Offset + length > t.shape[axis.Axis])
                        throw new ConformanceException($"feature space '{space.Name}': {axis} does not hold {space.Width} units");
                    using var slice = t.narrow(axis.Axis, axis.Offset, length);
                    using var permuted = slice.index_select(axis.Axis, perm);
                    slice.copy_(permuted);
                }
            }
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>A permuted copy of <paramref name="stateDict"/> with the permutations <see cref="RandomPermutations"/> draws from <paramref name="seed"/>.</summary>
    public static Dictionary<string, Tensor> Apply(IReadOnlyDictionary<string, Tensor> stateDict, MergeGraph graph, ulong seed) =>
        Apply(stateDict, graph, RandomPermutations(graph, seed));
}
