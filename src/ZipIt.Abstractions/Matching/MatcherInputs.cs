namespace ZipIt;

/// <summary>What a matcher needs besides the point names and widths.</summary>
[Flags]
public enum MatcherInputs
{
    /// <summary>Nothing beyond point names and widths (e.g. weight averaging).</summary>
    None = 0,
    /// <summary>Each point's activation covariance (and mean) over calibration data.</summary>
    Activations = 1,
    /// <summary>The N models' state dicts together with the <see cref="MergeGraph"/> (weight-space similarity).</summary>
    Weights = 2,
}
