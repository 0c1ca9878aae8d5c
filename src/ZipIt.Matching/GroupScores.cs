namespace ZipIt.Matching;

/// <summary>
/// Group-pair scores of one point: for model i ≥ 1 and every pair (group j of model 0, group k of
/// model i), the maximising assignment of the g×g similarity block between them and its value, the
/// mean similarity of the assigned pairs. Made by <see cref="GroupMatching.Score(float[], int, int, int, CancellationToken)"/>.
/// </summary>
public sealed class GroupScores
{
    internal GroupScores(int groups, int size, double[][] score, int[][][] inner)
    {
        Groups = groups;
        Size = size;
        ScoreArray = score;
        InnerArray = inner;
    }

    /// <summary>G, the number of groups.</summary>
    public int Groups { get; }

    /// <summary>g, units per group.</summary>
    public int Size { get; }

    // [model][j·G + k]; model 0's row is unused.
    internal double[][] ScoreArray { get; }

    // [model][j·G + k][t]: the unit of model i's group k assigned to model 0's unit t of group j.
    internal int[][][] InnerArray { get; }

    /// <summary>The score of pairing model 0's group <paramref name="modelZeroGroup"/> with group <paramref name="group"/> of model <paramref name="model"/> (≥ 1).</summary>
    public double Score(int model, int modelZeroGroup, int group) => ScoreArray[model][modelZeroGroup * Groups + group];

    /// <summary>That pair's within-group assignment: for model 0's unit t, the unit (0..g−1) of model <paramref name="model"/>'s group.</summary>
    public IReadOnlyList<int> Inner(int model, int modelZeroGroup, int group) => InnerArray[model][modelZeroGroup * Groups + group];
}
