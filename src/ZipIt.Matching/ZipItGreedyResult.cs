namespace ZipIt.Matching;

/// <summary>The outcome of <see cref="ZipItGreedy.Match(float[], int, int, ZipItOptions, Func{float[]}?, CancellationToken)"/>.</summary>
/// <param name="FeatureOf">For every unit, its merged feature; features are numbered by their smallest member.</param>
/// <param name="MasksLiftedAt">The merge (0-based) from which masks were lifted because every pair was masked; -1 if never.</param>
/// <param name="SameModelMerges">Per model, the same-model merges charged to its budget (none are charged once masks are lifted).</param>
/// <param name="Objective">
/// The mean similarity of the picked pairs as the greedy saw them (α-scaled for repeated merges):
/// the reference's "merge value", which MuDSC's sweeps compare.
/// </param>
public readonly record struct ZipItGreedyResult(int[] FeatureOf, int MasksLiftedAt, int[] SameModelMerges, double Objective);
