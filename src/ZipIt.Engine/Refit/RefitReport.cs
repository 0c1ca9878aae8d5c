namespace ZipIt.Engine.Refit;

/// <summary>What a refit did: the variant and ridge, each layer's result in the order solved, the layers left as they were and why, and the passes it ran.</summary>
/// <param name="Passes">Passes over the calibration images (teacher-forced: one; sequential: one per layer).</param>
internal sealed record RefitReport(RefitOptions Options, IReadOnlyList<LayerRefit> Layers, IReadOnlyList<string> Skipped, int Passes)
{
    /// <summary>The mean over layers of the relative squared error before and after.</summary>
    public (double Before, double After) MeanRelativeError =>
        Layers.Count == 0 ? (0, 0) : (Layers.Average(l => l.RelativeErrorBefore), Layers.Average(l => l.RelativeErrorAfter));
}
