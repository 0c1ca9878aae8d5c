namespace ZipIt.Matching;

/// <summary>
/// A group zip's outcome: the assignment, the merged groups whose masks had to be lifted (with the
/// merge count at which that happened), and the mean similarity of all greedy picks over all groups.
/// </summary>
/// <param name="FeatureOf">For every stacked unit (N·C), its merged feature.</param>
/// <param name="Lifted">(merged group, merges done when every remaining pair was masked).</param>
/// <param name="Objective">The mean greedy pick (MuDSC's merge value).</param>
public readonly record struct GroupZipResult(int[] FeatureOf, IReadOnlyList<(int Group, int LiftedAt)> Lifted, double Objective);
