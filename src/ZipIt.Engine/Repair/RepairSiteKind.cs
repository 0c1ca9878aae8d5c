namespace ZipIt.Engine.Repair;

/// <summary>What a <see cref="RepairSite"/> corrects.</summary>
internal enum RepairSiteKind
{
    /// <summary>A conv or linear layer's output (before its activation): fc1 of a ViT MLP, the q, k and v rows of qkv, a branch writing a residual stream.</summary>
    Producer,
    /// <summary>An affine normalisation's output without running statistics (LayerNorm, GroupNorm): folded into its weight and bias.</summary>
    Norm,
}
