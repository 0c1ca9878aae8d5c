namespace ZipIt.Matching;

/// <summary>The outcome of <see cref="ZipItGreedy.Match"/>.</summary>
/// <param name="FeatureOf">For every unit, its merged feature; features are numbered by their smallest member.</param>
/// <param name="MasksLiftedAt">The merge (0-based) from which masks were lifted because every pair was masked; -1 if never.</param>
/// <param name="SameModelMerges">Per model, the same-model merges charged to its budget (none are charged once masks are lifted).</param>
internal readonly record struct ZipItGreedyResult(int[] FeatureOf, int MasksLiftedAt, int[] SameModelMerges);

/// <summary>Same-model budgets a greedy run starts from.</summary>
/// <param name="Start">Per model, the budget; a model is masked when a same-model merge brings it to 0 or below.</param>
/// <param name="MaskedAtStart">Per model, whether its pairs are masked before the first merge.</param>
internal readonly record struct ZipItBudget(int[] Start, bool[] MaskedAtStart);
