using static TorchSharp.torch;

namespace ZipIt;

/// <summary>
/// One merge point as a matcher sees it. Unit k of the stacked index belongs to model k / Width.
/// </summary>
/// <param name="Name">The point's name (its <see cref="FeatureSpace.Name"/> when a graph is known).</param>
/// <param name="Width">Units per model (C).</param>
public sealed record MatchPoint(string Name, int Width)
{
    /// <summary>Group structure, or null.</summary>
    public GroupStructure? Groups { get; init; }

    /// <summary>The architecture's description of the point; null when matching a bare statistics file.</summary>
    public FeatureSpace? Space { get; init; }

    /// <summary>Covariance of the N models' stacked features, [N·C, N·C], float64; null when activations were not collected.</summary>
    public Tensor? Covariance { get; init; }

    /// <summary>Mean of the stacked features, [N·C], float64; null when not collected.</summary>
    public Tensor? Mean { get; init; }
}
