namespace ZipIt.Matching;

/// <summary>
/// Which group of model i goes with each group of model 0, for a point whose units form G
/// contiguous groups of g units (mudsc-method.md §6.3, step "align groups").
/// </summary>
/// <param name="Groups">G.</param>
/// <param name="Size">g, units per group.</param>
/// <param name="GroupOf">GroupOf[i][r]: model i's group that joins model 0's group r (model 0: r itself).</param>
/// <param name="Inner">
/// Inner[i][r][t]: the unit of group GroupOf[i][r] (0..g−1 within the group) that the within-group
/// assignment gave model 0's unit t of group r. Inner[0][r] is the identity.
/// </param>
public sealed record GroupPairing(int Groups, int Size, int[][] GroupOf, int[][][] Inner);
