namespace ZipIt.Matching;

/// <summary>Same-model budgets a greedy run starts from.</summary>
/// <param name="Start">Per model, the budget; a model is masked when a same-model merge brings it to 0 or below.</param>
/// <param name="MaskedAtStart">Per model, whether its pairs are masked before the first merge.</param>
internal readonly record struct ZipItBudget(int[] Start, bool[] MaskedAtStart);
