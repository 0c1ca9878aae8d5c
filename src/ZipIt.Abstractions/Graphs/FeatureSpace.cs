namespace ZipIt;

/// <summary>
/// One merge point: a set of tensor axes that index the same units and must be transformed
/// together (ZipIt!'s merge node, MuDSC's "perm", git-re-basin's permutation). When the engine
/// merges this space with merge matrix M and unmerge matrix U it maps every
/// <see cref="Producers"/> and <see cref="Norms"/> axis by M and every <see cref="Consumers"/> axis
/// by U; nothing else about the architecture is needed.
/// </summary>
/// <param name="Name">Unique within the graph, e.g. <c>layer1.0.conv1:out</c> or <c>stream1</c>.</param>
/// <param name="Width">Units per model (C).</param>
public sealed record FeatureSpace(string Name, int Width)
{
    /// <summary>Axes that write the space: conv/linear output rows and biases, embedding channels.</summary>
    public IReadOnlyList<TensorAxis> Producers { get; init; } = [];

    /// <summary>Axes that read the space: input columns of every conv/linear fed by it.</summary>
    public IReadOnlyList<TensorAxis> Consumers { get; init; } = [];

    /// <summary>Per-channel vectors of normalisation layers that follow a producer (BN γ, β, running stats; GN/LN γ, β).</summary>
    public IReadOnlyList<TensorAxis> Norms { get; init; } = [];

    /// <summary>Where the activations of this space are observed (at least one).</summary>
    public IReadOnlyList<FeatureTap> Taps { get; init; } = [];

    /// <summary>Group structure (attention heads, GroupNorm groups), or null.</summary>
    public GroupStructure? Groups { get; init; }

    /// <summary>
    /// Spaces with the same non-null tie key must use one and the same group assignment (a head's
    /// q/k and v move together). Null: independent.
    /// </summary>
    public string? GroupTie { get; init; }

    /// <summary>
    /// True for a residual stream: several producers (the stem and every block's last layer, joined
    /// by residual additions) write into one space, so all of them share one (M, U).
    /// </summary>
    public bool IsResidualStream { get; init; }

    /// <summary>Every axis of the space: producers, norms, consumers.</summary>
    public IEnumerable<TensorAxis> AllAxes => Producers.Concat(Norms).Concat(Consumers);
}
