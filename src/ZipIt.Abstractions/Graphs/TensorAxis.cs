namespace ZipIt;

/// <summary>
/// One axis of one tensor that indexes the units of a feature space (mergekit's input/output space
/// label; git-re-basin's <c>axes_to_perm</c> entry). <see cref="Offset"/>/<see cref="Length"/>
/// select a slice of the axis, for fused tensors: the q, k and v row blocks of a fused <c>qkv</c>
/// weight belong to different spaces.
/// </summary>
/// <param name="Tensor">State-dict key, e.g. <c>layer1.0.conv1.weight</c>.</param>
/// <param name="Axis">The axis (0 = output rows of a conv/linear weight, 1 = its input columns).</param>
/// <param name="Kind">What the tensor is.</param>
public sealed record TensorAxis(string Tensor, int Axis, TensorKind Kind = TensorKind.Weight)
{
    /// <summary>First index of the slice on <see cref="Axis"/> that belongs to the space.</summary>
    public long Offset { get; init; }

    /// <summary>Length of the slice; null means "the whole axis" (which must then equal the space width).</summary>
    public long? Length { get; init; }

    /// <summary><c>conv1.weight[axis 0]</c>, or with the slice: <c>blocks.0.attn.qkv.weight[axis 0, 0..64)</c>.</summary>
    public override string ToString() =>
        Length is null && Offset == 0 ? $"{Tensor}[axis {Axis}]" : $"{Tensor}[axis {Axis}, {Offset}..{Offset + (Length ?? 0)})";
}
