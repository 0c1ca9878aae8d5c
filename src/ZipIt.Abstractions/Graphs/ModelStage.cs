namespace ZipIt;

/// <summary>
/// One stage of a model's forward pass (<see cref="StagedModel.forward_stage"/>). A partial zip may
/// stop only after a stage that ends in a feature space (<see cref="OutputSpace"/>): there every
/// head entry layer reads one and the same tensor.
/// </summary>
/// <param name="Name">Stage name, e.g. <c>layer2</c>.</param>
/// <param name="Modules">Top-level module names whose parameters belong to this stage (<c>conv1</c>, <c>bn1</c>, <c>layer1</c>).</param>
/// <param name="OutputSpace">The feature space observed at this stage's output; null for the last stage.</param>
/// <param name="StopLabel">
/// The paper's "ZipIt!n/m" n for a stop after this stage (weight layers zipped, shortcut convs not
/// counted), or null if not a stop point.
/// </param>
public sealed record ModelStage(string Name, IReadOnlyList<string> Modules, string? OutputSpace, int? StopLabel)
{
    /// <summary>
    /// The axis of this stage's output tensor that holds <see cref="OutputSpace"/>'s units: 1 for
    /// NCHW maps and [B, C] vectors, -1 for token-major [B, T, C] tensors. A partial zip that stops
    /// here and must unmerge the stream explicitly (the stream runs on into the heads) multiplies
    /// this axis by each head's entry transform.
    /// </summary>
    public int OutputChannelAxis { get; init; } = 1;

    /// <summary>True if <paramref name="tensor"/> (a state-dict key) belongs to this stage.</summary>
    public bool Owns(string tensor) => Modules.Any(m => tensor == m || tensor.StartsWith(m + ".", StringComparison.Ordinal));
}
