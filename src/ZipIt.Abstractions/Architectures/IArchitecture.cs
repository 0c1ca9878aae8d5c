namespace ZipIt;

/// <summary>
/// A family of network architectures (for example "resnet"): it recognises its checkpoints, builds
/// TorchSharp modules whose state-dict keys are the PyTorch ones, and describes declaratively which
/// tensor axes share a feature space (<see cref="MergeGraph"/>). The merge engine has no
/// architecture-specific code: everything it knows about a model comes from here.
/// </summary>
public interface IArchitecture
{
    /// <summary>Family name, e.g. <c>resnet</c>; lower case.</summary>
    string Name { get; }

    /// <summary>One line for <c>plugins list</c>.</summary>
    string Description { get; }

    /// <summary>The named variants (as timm's registry: <c>resnet20</c>, <c>resnet50</c>, ...).</summary>
    IReadOnlyList<ArchitectureVariant> Variants { get; }

    /// <summary>
    /// Says which configuration a checkpoint is, from its tensor names, shapes and metadata only (no
    /// tensor data is read), or returns null when the checkpoint is not of this family. Block counts
    /// and widths come from the keys and shapes, so non-standard depths are recognised too.
    /// </summary>
    ArchitectureConfig? Recognize(CheckpointSignature checkpoint);

    /// <summary>
    /// The configuration of a named variant with some settings overridden (for example
    /// <c>width=4</c>, <c>classes=512</c>). Throws <see cref="ArgumentException"/> for an unknown
    /// variant or setting; the message is shown to the user.
    /// </summary>
    ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null);

    /// <summary>A freshly initialised model of this configuration (float32, CPU, eval mode not implied).</summary>
    StagedModel Create(ArchitectureConfig config);

    /// <summary>The merge points and stages of a model of this configuration.</summary>
    MergeGraph Describe(ArchitectureConfig config);

    /// <summary>How <c>reproduce</c> runs the papers' experiment on this architecture; null (the default): it cannot.</summary>
    ExperimentProtocol? Protocol => null;
}
