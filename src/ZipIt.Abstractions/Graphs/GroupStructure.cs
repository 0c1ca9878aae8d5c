namespace ZipIt;

/// <summary>
/// A feature space whose units form <see cref="Count"/> contiguous groups of equal size: attention
/// heads (heads × head dim) or GroupNorm groups. A valid merge keeps groups as blocks: each merged
/// group is built from whole groups of the models.
/// </summary>
public sealed record GroupStructure(int Count)
{
    /// <summary>Units per group for a space of <paramref name="width"/> units.</summary>
    public int SizeFor(int width) => width % Count == 0
        ? width / Count
        : throw new ArgumentException($"width {width} is not divisible into {Count} groups");
}
