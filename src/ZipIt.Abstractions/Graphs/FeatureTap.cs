namespace ZipIt;

/// <summary>
/// Where a feature space's activations are observed: the input or output of a named module
/// (a path of <c>named_modules()</c>, e.g. <c>layer1.0.conv2</c>). Every other axis than
/// <see cref="ChannelAxis"/> is flattened into samples (spatial positions and tokens are samples).
/// A space with several taps stacks them as extra samples (MuDSC's q and k slices of one qkv output).
/// </summary>
/// <param name="Module">Module path; the module must be a <c>Module&lt;Tensor, Tensor&gt;</c> invoked with <c>call</c>.</param>
/// <param name="Site">Input or output of that module.</param>
/// <param name="ChannelAxis">The axis holding the units: 1 for NCHW maps, -1 for token-major <c>[B, T, C]</c>.</param>
public sealed record FeatureTap(string Module, TapSite Site, int ChannelAxis = 1)
{
    /// <summary>First channel of the slice of the tapped tensor that belongs to the space (fused qkv).</summary>
    public long Offset { get; init; }

    /// <summary>Number of channels of the slice; null means all of them.</summary>
    public long? Length { get; init; }

    /// <summary>
    /// Null: one of the space's default taps. A name: an alternative tap, used instead of the
    /// defaults only when a run selects that tap set (e.g. a ViT's residual stream observed at every
    /// block's output tokens, set <c>blocks</c>, rather than at the pooled token only).
    /// </summary>
    public string? Set { get; init; }

    /// <summary><c>output of layer1.0.bn2</c>.</summary>
    public override string ToString() => $"{Site.ToString().ToLowerInvariant()} of {Module}";
}
