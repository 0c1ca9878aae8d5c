using System.Globalization;
using ZipIt;

namespace MlpPlugin;

/// <summary>
/// Plain multi-layer perceptrons (<c>layers.{i}.weight/bias</c>, ReLU between layers), as in
/// MuDSC's MNIST experiment (784-1024-1024-1024-512). Setting <c>sizes</c> lists the input width,
/// every hidden width and the output width.
/// </summary>
public sealed class MlpArchitecture : IArchitecture
{
    public string Name => "mlp";

    public string Description => "Multi-layer perceptron with ReLU (layers.{i}.weight/bias)";

    public IReadOnlyList<ArchitectureVariant> Variants { get; } =
    [
        new("mlp", "any sizes, e.g. sizes=784,1024,1024,1024,512"),
    ];

    public ArchitectureConfig? Recognize(CheckpointSignature checkpoint)
    {
        var sizes = new List<long>();
        for (var i = 0; checkpoint.ShapeOf($"layers.{i}.weight") is { Length: 2 } shape; i++)
        {
            if (i == 0) sizes.Add(shape[1]);
            else if (shape[1] != sizes[^1]) return null;
            sizes.Add(shape[0]);
        }
        if (sizes.Count < 3 || checkpoint.Tensors.Keys.Any(k => !k.StartsWith("layers.", StringComparison.Ordinal))) return null;
        var bias = checkpoint.Tensors.ContainsKey("layers.0.bias");
        return Configure("mlp", new Dictionary<string, string>
        {
            ["sizes"] = string.Join(",", sizes),
            ["bias"] = bias ? "true" : "false",
        });
    }

    public ArchitectureConfig Configure(string variant, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (variant != "mlp") throw new ArgumentException($"unknown mlp variant '{variant}'");
        var merged = new Dictionary<string, string> { ["sizes"] = "784,1024,1024,1024,512", ["bias"] = "true" };
        string? classes = null;
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            // The host sets the output width (classes, or a class-embedding width) when it trains a model.
            if (k == "classes") classes = v;
            else if (!merged.ContainsKey(k)) throw new ArgumentException($"unknown mlp setting '{k}' (known: sizes, bias, classes)");
            else merged[k] = v;
        }
        if (classes is not null)
        {
            if (!int.TryParse(classes, NumberStyles.Integer, CultureInfo.InvariantCulture, out var outputs) || outputs < 1)
                throw new ArgumentException($"mlp setting 'classes' must be a positive integer, got '{classes}'");
            merged["sizes"] = string.Join(",", merged["sizes"].Split(',')[..^1].Append(classes));
        }
        var config = new ArchitectureConfig(Name, variant, merged);
        if (Sizes(config).Length < 3) throw new ArgumentException("mlp needs at least one hidden layer: sizes=IN,HIDDEN,...,OUT");
        return config;
    }

    /// <summary>
    /// A small MLP on 32×32 RGB inputs (3,072 features), two hidden layers of 64, each model from
    /// its own seed: how <c>reproduce --arch mlp</c> runs the papers' experiment on this plugin.
    /// </summary>
    public ExperimentProtocol Protocol { get; } = new()
    {
        Variant = "mlp",
        Settings = new Dictionary<string, string> { ["sizes"] = "3072,64,64,10" },
        Recipe = new Dictionary<string, string> { ["optimizer"] = "adamw", ["lr"] = "1e-3", ["schedule"] = "cosine", ["warmup"] = "0.1", ["crop-padding"] = "0", ["logit-scale"] = "20" },
        TrainImages = 2000,
    };

    public StagedModel Create(ArchitectureConfig config) => new Mlp(Sizes(config), config.Get("bias", "true") == "true");

    public MergeGraph Describe(ArchitectureConfig config)
    {
        var sizes = Sizes(config);
        var bias = config.Get("bias", "true") == "true";
        var layers = sizes.Length - 1;
        var spaces = new List<FeatureSpace>();
        var stages = new List<ModelStage>();
        for (var i = 0; i < layers; i++)
        {
            var hidden = i < layers - 1;
            if (hidden)
            {
                // Hidden units of layer i: its rows (and bias) write them, layer i+1's columns read them.
                spaces.Add(new FeatureSpaceBuilder($"hidden{i}", (int)sizes[i + 1])
                    .ProducedBy($"layers.{i}", bias)
                    .ConsumedBy($"layers.{i + 1}")
                    .TapInput($"layers.{i + 1}", channelAxis: -1)
                    .Build());
            }
            stages.Add(new ModelStage($"layer{i}", [$"layers.{i}"], hidden ? $"hidden{i}" : null, hidden ? i + 1 : null));
        }
        // The flattened input features and the output units are shared by every model: no merge
        // transforms them, but the description must say so (MergeGraph.Validate checks every axis).
        var outputs = new List<TensorAxis> { new($"layers.{layers - 1}.weight", 0) };
        if (bias) outputs.Add(new TensorAxis($"layers.{layers - 1}.bias", 0, TensorKind.Bias));
        return new MergeGraph(spaces, stages, layers)
        {
            Inputs = [new TensorAxis("layers.0.weight", 1)],
            Outputs = outputs,
        };
    }

    private static long[] Sizes(ArchitectureConfig config)
    {
        try
        {
            return config.Get("sizes", "").Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException)
        {
            throw new ArgumentException($"mlp setting 'sizes' must be comma-separated integers, got '{config.Get("sizes", "")}'");
        }
    }
}
