namespace ZipIt.Matching;

/// <summary>The settings of one greedy ZipIt! run (the <c>zipit</c> matcher's settings; its documentation gives their meaning).</summary>
/// <param name="Alpha">Repeated-match decay α; α ≤ 0 selects the reference's index-shifted masking unless <paramref name="NoRepeat"/>.</param>
/// <param name="Beta">Same-model budget β ≥ 0.</param>
/// <param name="StrictBeta">A zero quota allows no same-model merge (the paper) instead of one (the reference).</param>
/// <param name="NoRepeat">A merged feature is never merged again (the paper's "greedy match" ablation).</param>
public sealed record ZipItOptions(double Alpha, double Beta, bool StrictBeta = false, bool NoRepeat = false)
{
    /// <summary>Same-model merges each model may make before its within-model pairs are masked: ⌊⌊(O − C)/N⌋·β + 1e-4⌋.</summary>
    public int Quota(int models, int width)
    {
        var merges = (models - 1) * width;
        // The reference truncates a float64 product with int(); so do we.
        return (int)Math.Truncate((merges / models) * Beta + 1e-4);
    }
}
