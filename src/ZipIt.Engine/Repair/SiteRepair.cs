namespace ZipIt.Engine.Repair;

/// <summary>One corrected site before its correction: how far the merged units' spread was from the target's.</summary>
/// <param name="StdRatio">The mean over units with a target spread of σ/σ* (1: no variance collapse; below 1: collapsed).</param>
/// <param name="ConstantUnits">Units that were constant in the merged model, only shifted (see <see cref="AffineCorrection"/>).</param>
internal sealed record SiteRepair(string Site, string Space, RepairSiteKind Kind, long Units, long ConstantUnits, double StdRatio);
