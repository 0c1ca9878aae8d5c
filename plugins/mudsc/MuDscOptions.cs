using ZipIt.Matching;

namespace ZipIt.Plugins.MuDsc;

/// <summary>One MuDSC run's settings (see <see cref="MuDscMatcher"/> for their meaning).</summary>
/// <param name="Balance">The paper's α: share of weight similarity in the blend, in [0, 1].</param>
/// <param name="Mode">Zip or align.</param>
/// <param name="Zip">The greedy's α and β (used in zip mode).</param>
/// <param name="MaxSweeps">Upper bound on sweeps over the points.</param>
/// <param name="Patience">Sweeps without improvement after which the sweeps stop.</param>
/// <param name="Epsilon">merge-eps of the merge matrices.</param>
/// <param name="UntieHeads">Pair tied points' groups independently (the reference's behaviour).</param>
/// <param name="Order">How each sweep's order of the points is drawn from the seed.</param>
internal sealed record MuDscOptions(double Balance, MuDscMode Mode, ZipItOptions Zip, int MaxSweeps, int Patience, float Epsilon, bool UntieHeads = false,
    SweepOrderKind Order = SweepOrderKind.Randperm)
{
    /// <summary>Balance 1: weights only, no activation statistics needed.</summary>
    public bool UsesActivations => Balance < 1;

    /// <summary>Balance 0: activations only, so the weight sweeps cannot change anything and are skipped.</summary>
    public bool UsesWeights => Balance > 0;
}
