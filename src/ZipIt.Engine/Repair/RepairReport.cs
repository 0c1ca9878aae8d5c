namespace ZipIt.Engine.Repair;

/// <summary>What a REPAIR did: each corrected site, what was left out and why, and the passes over the calibration images it ran.</summary>
/// <param name="Passes">Forward passes over the calibration images: one per base model, one per corrected module of the merged model (each only through the stages up to that module's).</param>
internal sealed record RepairReport(IReadOnlyList<SiteRepair> Sites, IReadOnlyList<string> Skipped, int Passes, long Images)
{
    public long Units => Sites.Sum(s => s.Units);
}

/// <summary>One corrected site before its correction: how far the merged units' spread was from the target's.</summary>
/// <param name="StdRatio">The mean over units with a target spread of σ/σ* (1: no variance collapse; below 1: collapsed).</param>
/// <param name="ConstantUnits">Units that were constant in the merged model, only shifted (see <see cref="AffineCorrection"/>).</param>
internal sealed record SiteRepair(string Site, string Space, RepairSiteKind Kind, long Units, long ConstantUnits, double StdRatio);
