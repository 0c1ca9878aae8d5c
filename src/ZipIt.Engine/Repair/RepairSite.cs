namespace ZipIt.Engine.Repair;

/// <summary>
/// One set of merged units REPAIR corrects: the output channels [<see cref="Offset"/>,
/// <see cref="Offset"/> + <see cref="Units"/>) of module <see cref="Module"/>, which index the units
/// of feature space <see cref="Space"/>, and the parameters an affine correction y' = a·y + c of
/// those channels folds into exactly: <see cref="Scaled"/> (multiplied by a on their axis) and
/// <see cref="Shift"/> (multiplied by a, then c added).
/// </summary>
/// <param name="Space">The feature space whose merge matrix combines the base models' units into these.</param>
/// <param name="Module">The module whose output is corrected (a <c>named_modules()</c> path).</param>
/// <param name="Kind">A producer (conv/linear rows and bias) or an affine norm (weight and bias).</param>
/// <param name="Stage">The stage that runs the module.</param>
/// <param name="ChannelAxis">The axis of the module's output that holds the channels (1: NCHW; -1: token-major).</param>
/// <param name="Scaled">Axes multiplied by a: a weight's output rows, a norm's weight.</param>
/// <param name="Shift">The bias axis: b' = a·b + c.</param>
internal sealed record RepairSite(string Space, string Module, RepairSiteKind Kind, int Stage, int ChannelAxis, long Offset, long Units,
    IReadOnlyList<TensorAxis> Scaled, TensorAxis Shift)
{
    /// <summary><c>blocks.0.mlp.fc1</c>, or with a slice: <c>blocks.0.attn.qkv[64..128)</c>.</summary>
    public string Name => Offset == 0 && !IsSlice ? Module : $"{Module}[{Offset}..{Offset + Units})";

    /// <summary>True when the units are part of the module's channels (q, k or v of a fused qkv).</summary>
    public bool IsSlice { get; init; }

    public override string ToString() => Name;
}
