namespace ZipIt;

/// <summary>
/// How <c>reproduce</c> and <c>demo</c> run the papers' experiment on an architecture: which models
/// to train (a variant at a size a CPU trains in minutes), by which recipe, from which start, and
/// where to cut the partial zips. An architecture that declares one can be reproduced without the
/// host knowing it; command-line options override every value.
/// </summary>
public sealed record ExperimentProtocol
{
    /// <summary>The variant every model is, e.g. <c>resnet20</c>.</summary>
    public required string Variant { get; init; }

    /// <summary>
    /// Its settings (invariant culture). Keys that <c>reproduce</c> also offers as options
    /// (<c>width</c>, <c>depth</c>, <c>heads</c>, <c>norm</c>) take those options' values when given.
    /// The output width is set by the host (setting <c>classes</c>), which the architecture must accept.
    /// </summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The training recipe's values that differ from the tool's default (the ZipIt! reference's), by
    /// the name of <c>train</c>'s option without dashes: <c>optimizer</c>, <c>lr</c>, <c>weight-decay</c>,
    /// <c>schedule</c>, <c>warmup</c>, <c>epochs</c>, <c>batch-size</c>, <c>crop-padding</c>,
    /// <c>clip-grad-norm</c>, <c>nesterov</c>, <c>flip</c>, <c>logit-scale</c>, <c>momentum</c>, <c>label-smoothing</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> Recipe { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Whether each pair's two task models are fine-tuned from one model pretrained for the pair
    /// (MuDSC's protocol) rather than each trained from its own seed (ZipIt!'s).
    /// </summary>
    public bool Pretrained { get; init; }

    /// <summary>
    /// With <see cref="Pretrained"/>: the fine-tunes' recipe values that differ from <see cref="Recipe"/>
    /// (which trains the shared start), by the same names, e.g. fewer epochs at a lower <c>lr</c>.
    /// </summary>
    public IReadOnlyDictionary<string, string> FineTuneRecipe { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The alternative tap sets the architecture declares that statistics are collected at (e.g. a
    /// ViT's <c>blocks</c>); empty: its default taps. <c>--tap-set</c> replaces them.
    /// </summary>
    public IReadOnlyList<string> TapSets { get; init; } = [];

    /// <summary>Training images per model (a seeded draw); null: the whole training split.</summary>
    public long? TrainImages { get; init; }

    /// <summary>
    /// The partial zips besides the full one, as fractions of the model's depth (its graph's layer
    /// count): each becomes the stop point whose label is nearest. Default two thirds and one third
    /// (ZipIt!13/20 and 7/20 of a ResNet-20).
    /// </summary>
    public IReadOnlyList<double> StopFractions { get; init; } = [2.0 / 3, 1.0 / 3];
}
