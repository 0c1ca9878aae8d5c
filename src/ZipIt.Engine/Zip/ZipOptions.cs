namespace ZipIt.Engine.Zip;

/// <summary>How matches are applied.</summary>
/// <param name="SquaredRunningVar">
/// Merge BatchNorm running variances with the element-wise squared merge matrix (the paper's
/// appendix) instead of the plain one (the reference code). Irrelevant when BN is reset afterwards.
/// </param>
internal sealed record ZipOptions(bool SquaredRunningVar = false);
