using System.Globalization;
using ZipIt;

namespace MyZipItPlugin;

/// <summary>
/// The <c>tinyconv</c> family (<see cref="TinyConv"/>). Settings: <c>channels</c> (input channels,
/// 3), <c>width</c> (channels of the first block, 16; the second has twice as many) and
/// <c>classes</c> (10).
/// </summary>
public sealed class TinyConvArchitecture : IArchitecture
{
    private static readonly string[] Keys = ["channels", "classes", "width"];

    /// <inheritdoc />
    public string Name => "tinyconv";

    /// <inheritdoc />
    public string Description => "Two conv3x3+BatchNorm blocks, global average pooling and a linear head";

    /// <inheritdoc />
    public IReadOnlyList<ArchitectureVariant> Variants { get; } =
    [
        new("tinyconv", "conv 3→16→32, 10 classes; settings channels, width, classes"),
    ];

    /// <inheritdoc />
    public ArchitectureConfig? Recognize(CheckpointSignature checkpoint)
    {
        // Shapes only: conv1 [W, C, 3, 3], conv2 [2W, W, 3, 3], head [K, 2W], and no other modules.
        if (checkpoint.ShapeOf("conv1.weight") is not [var width, var channels, 3, 3]) return null;
        if (checkpoint.ShapeOf("conv2.weight") is not [var width2, var input2, 3, 3] || input2 != width || width2 != 2 * width) return null;
        if (checkpoint.ShapeOf("head.weight") is not [var classes, var features] || features != width2) return null;
        string[] modules = ["conv1.", "bn1.", "conv2.", "bn2.", "head."];
        if (checkpoint.Tensors.Keys.Any(k => !modules.Any(m => k.StartsWith(m, StringComparison.Ordinal)))) return null;
        return Configure("tinyconv", new Dictionary<string, string>
        {
            ["channels"] = channels.ToString(CultureInfo.InvariantCulture),
            ["width"] = width.ToString(CultureInfo.InvariantCulture),
            ["classes"] = classes.ToString(CultureInfo.InvariantCulture),
        });
    }

    /// <inheritdoc />
    public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (variant != "tinyconv") throw new ArgumentException($"unknown tinyconv variant '{variant}' (known: tinyconv)");
        var values = new Dictionary<string, string> { ["channels"] = "3", ["width"] = "16", ["classes"] = "10" };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            if (!Keys.Contains(key)) throw new ArgumentException($"unknown tinyconv setting '{key}' (known: {string.Join(", ", Keys)})");
            if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < 1)
                throw new ArgumentException($"tinyconv setting '{key}' must be a positive integer, got '{value}'");
            values[key] = n.ToString(CultureInfo.InvariantCulture);
        }
        return new ArchitectureConfig(Name, variant, values);
    }

    /// <inheritdoc />
    public StagedModel Create(ArchitectureConfig config) =>
        new TinyConv(config.GetInt("channels"), config.GetInt("width"), config.GetInt("classes"));

    /// <inheritdoc />
    public MergeGraph Describe(ArchitectureConfig config)
    {
        var width = config.GetInt("width");
        // One feature space per block: the conv's output rows write it, its BatchNorm follows, the
        // next layer's input columns read it; observe it where the next layer reads it.
        FeatureSpace[] spaces =
        [
            new FeatureSpaceBuilder("block1", width).ProducedBy("conv1").BatchNorm("bn1").ConsumedBy("conv2").TapInput("conv2").Build(),
            new FeatureSpaceBuilder("block2", 2 * width).ProducedBy("conv2").BatchNorm("bn2").ConsumedBy("head").TapInput("head").Build(),
        ];
        ModelStage[] stages =
        [
            new("block1", ["conv1", "bn1"], "block1", 1),
            new("block2", ["conv2", "bn2"], "block2", 2),
            new("head", ["head"], null, null),
        ];
        return new MergeGraph(spaces, stages, LayerCount: 3)
        {
            // Shared by every model and never transformed: the image channels and the class scores.
            Inputs = [new TensorAxis("conv1.weight", 1)],
            Outputs = [new TensorAxis("head.weight", 0), new TensorAxis("head.bias", 0, TensorKind.Bias)],
        };
    }
}
