namespace ZipIt;

/// <summary>What an architecture may look at to recognise a checkpoint: names, dtypes, shapes and metadata, never data.</summary>
/// <param name="Tensors">Tensor name (PyTorch state-dict key) to its signature.</param>
/// <param name="Metadata">The checkpoint's <c>__metadata__</c> (empty when none).</param>
public sealed record CheckpointSignature(
    IReadOnlyDictionary<string, TensorSignature> Tensors,
    IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>
    /// Architecture settings the user gave for this checkpoint (<c>--arch-set heads=6</c>) because the
    /// checkpoint does not record them; empty when none. A plugin prefers them to its own guesses.
    /// </summary>
    public IReadOnlyDictionary<string, string> Hints { get; init; } = new Dictionary<string, string>();

    /// <summary>The shape of <paramref name="name"/>, or null when absent.</summary>
    public long[]? ShapeOf(string name) => Tensors.TryGetValue(name, out var t) ? t.Shape : null;
}
