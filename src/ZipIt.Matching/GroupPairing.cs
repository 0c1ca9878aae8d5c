namespace ZipIt.Matching;

/// <summary>
/// Which group of model i goes with each group of model 0, for a point whose units form G
/// contiguous groups of g units ("align groups"), and the within-group assignment of each chosen
/// pair. Made by <see cref="GroupPairings.For"/>.
/// </summary>
public sealed class GroupPairing
{
    private readonly int[][] _groupOf;
    private readonly int[][][] _inner;

    internal GroupPairing(int groups, int size, int[][] groupOf, int[][][] inner)
    {
        Groups = groups;
        Size = size;
        _groupOf = groupOf;
        _inner = inner;
    }

    /// <summary>G.</summary>
    public int Groups { get; }

    /// <summary>g, units per group.</summary>
    public int Size { get; }

    /// <summary>Model <paramref name="model"/>'s group that joins model 0's group <paramref name="r"/> (model 0: r itself).</summary>
    public int GroupOf(int model, int r) => _groupOf[model][r];

    /// <summary>
    /// For model 0's unit t of group <paramref name="r"/>, the unit (0..g−1 within the group) of
    /// group <see cref="GroupOf"/> that the within-group assignment gave it; the identity for model 0.
    /// </summary>
    public IReadOnlyList<int> InnerOf(int model, int r) => _inner[model][r];
}
