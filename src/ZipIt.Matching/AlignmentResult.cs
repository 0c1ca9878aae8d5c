namespace ZipIt.Matching;

/// <summary>An alignment's assignment, and its objective: the mean over models i ≥ 1 of the mean matched similarity.</summary>
/// <param name="FeatureOf">For every stacked unit (N·C), its merged feature.</param>
/// <param name="Objective">MuDSC's "merge value" of the alignment.</param>
public readonly record struct AlignmentResult(int[] FeatureOf, double Objective);
