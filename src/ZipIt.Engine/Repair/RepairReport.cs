namespace ZipIt.Engine.Repair;

/// <summary>What a REPAIR did: each corrected site, what was left out and why, and the passes over the calibration images it ran.</summary>
/// <param name="Passes">Forward passes over the calibration images: one per base model, one per corrected module of the merged model (each only through the stages up to that module's).</param>
internal sealed record RepairReport(IReadOnlyList<SiteRepair> Sites, IReadOnlyList<string> Skipped, int Passes, long Images)
{
    public long Units => Sites.Sum(s => s.Units);
}
