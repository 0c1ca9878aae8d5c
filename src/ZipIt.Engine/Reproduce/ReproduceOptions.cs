using System.Globalization;
using System.Text.Json.Serialization;
using ZipIt.Engine.Train;

namespace ZipIt.Engine.Reproduce;

/// <summary>Everything that decides a <c>reproduce</c> run (the report records it).</summary>
internal sealed record ReproduceOptions
{
    /// <summary>The default architecture: the example pair's (ZipIt!'s CIFAR ResNet-20s).</summary>
    public const string ResNet = "resnet";
    public const string Pretrained = "pretrained";
    public const string Scratch = "scratch";

    public required string Setting { get; init; }
    /// <summary>The architecture family (any plugin's that declares an <see cref="ExperimentProtocol"/>): resnet (the ZipIt! paper), vit (MuDSC's ViT setting), ...</summary>
    public string Arch { get; init; } = ResNet;
    /// <summary>
    /// scratch: every model from its own seed (ZipIt!'s protocol); pretrained: per pair, one model
    /// pretrained on <see cref="PretrainTask"/> from which both task models are fine-tuned (MuDSC's).
    /// </summary>
    public string Init { get; init; } = Scratch;
    /// <summary>The task the shared start of a pair is pretrained on (<see cref="Init"/> = pretrained).</summary>
    public string PretrainTask { get; init; } = "mnist:all";
    /// <summary>How the fine-tunes' recipe differs from <see cref="Recipe"/> (the start's): the protocol's values, by <c>train</c>'s option names.</summary>
    public IReadOnlyDictionary<string, string> FineTune { get; init; } = new Dictionary<string, string>();
    /// <summary>The peak learning rate of fine-tuning from the pretrained start (<c>--finetune-lr</c>; null: <see cref="FineTune"/>'s, else the recipe's).</summary>
    public double? FineTuneLearningRate { get; init; }
    /// <summary>The epochs of fine-tuning from the pretrained start (<c>--finetune-epochs</c>; null: <see cref="FineTune"/>'s, else the recipe's).</summary>
    public int? FineTuneEpochs { get; init; }
    public string Variant { get; init; } = "resnet20";
    /// <summary>ResNet: the width multiplier; ViT: the embedding width.</summary>
    public int Width { get; init; } = 4;
    /// <summary>ViT blocks.</summary>
    public int Depth { get; init; } = 3;
    /// <summary>ViT attention heads per block.</summary>
    public int Heads { get; init; } = 2;
    /// <summary>Further architecture settings (<c>--arch-set name=value</c>), over the ones above.</summary>
    public IReadOnlyDictionary<string, string> Set { get; init; } = new Dictionary<string, string>();
    /// <summary>Alternative tap sets statistics are collected at (<c>--tap-set</c>, e.g. a ViT's <c>blocks</c>).</summary>
    public IReadOnlyList<string>? TapSets { get; init; }
    /// <summary>bn or gn: BatchNorm ResNets (the paper) or GroupNorm ones (MuDSC's group matching).</summary>
    public string Norm { get; init; } = "bn";
    public int Pairs { get; init; } = 3;
    /// <summary>Checkpoints to merge as the only pair (one per task, in task order) instead of training; null: train <see cref="Pairs"/> pairs.</summary>
    public IReadOnlyList<string>? Models { get; init; }
    /// <summary>Images (half from each task's training split, augmented) for collecting statistics and resetting BatchNorm.</summary>
    public int Calibration { get; init; } = 1000;
    /// <summary>Train on a seeded draw of at most this many images per model (all when null).</summary>
    public long? TrainImages { get; init; }
    /// <summary>How every model is trained (default: the reference's recipe); the logit scale, when not given, follows <see cref="Norm"/>.</summary>
    public TrainingRecipe Recipe { get; init; } = new();
    /// <summary>The α × β grid searched for ZipIt! on the validation split of pair 0 (a subset of the reference's CIFAR grid by default).</summary>
    public IReadOnlyList<double> Alphas { get; init; } = [0.1, 0.3, 0.5, 1.0];
    public IReadOnlyList<double> Betas { get; init; } = [0.0, 0.125, 0.5, 1.0];
    /// <summary>Validation images used per grid cell (a fixed draw; all when null).</summary>
    public long? ValidationImages { get; init; } = 2000;
    /// <summary>Test images (a fixed draw; the whole test split when null).</summary>
    public long? TestImages { get; init; }
    /// <summary>Partial-zip stop points besides the full zip, as ZipIt!n/m labels.</summary>
    public IReadOnlyList<int> Stops { get; init; } = [13, 7];
    public long Seed { get; init; }
    public string? Cache { get; init; }

    /// <summary>Whether every full merge is also refit by least squares, a <c>+ refit</c> row after its own: <c>teacher</c>, <c>sequential</c>, or null (no such rows).</summary>
    public string? Refit { get; init; }
    /// <summary>The refit rows' ridge λ (see <see cref="Engine.Refit.RefitOptions.Ridge"/>).</summary>
    public double RefitRidge { get; init; } = Engine.Refit.RefitOptions.DefaultRidge;
    /// <summary>Whether every full merge is also repaired (REPAIR), a <c>+ repair</c> row after its own.</summary>
    public bool Repair { get; init; }

    /// <summary>The refit of the <c>+ refit</c> rows, or null when there are none.</summary>
    public Engine.Refit.RefitOptions? RefitOptions() => Refit is { } variant
        ? new(Engine.Refit.RefitOptions.ParseVariant(variant, "--refit"), Engine.Refit.RefitOptions.RequireRidge(RefitRidge, "--refit-ridge"))
        : null;

    /// <summary>The experiment protocol of <see cref="Arch"/> (its plugin's), which <see cref="ModelSettings"/> starts from.</summary>
    [JsonIgnore]
    public ExperimentProtocol? Protocol { get; init; }

    /// <summary>
    /// These options with the defaults of <paramref name="protocol"/> (an architecture's): its
    /// variant and settings, recipe, start and training images.
    /// </summary>
    public ReproduceOptions WithProtocol(string arch, ExperimentProtocol protocol)
    {
        int? Setting(string key) => protocol.Settings.TryGetValue(key, out var v) && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null;
        return this with
        {
            Arch = arch,
            Protocol = protocol,
            Variant = protocol.Variant,
            Width = Setting("width") ?? Width,
            Depth = Setting("depth") ?? Depth,
            Heads = Setting("heads") ?? Heads,
            Norm = protocol.Settings.TryGetValue("norm", out var norm) ? norm : Norm,
            Init = protocol.Pretrained ? Pretrained : Scratch,
            FineTune = protocol.FineTuneRecipe,
            TapSets = protocol.TapSets.Count > 0 ? protocol.TapSets : TapSets,
            TrainImages = protocol.TrainImages,
            Recipe = RecipeValues.Apply(new TrainingRecipe(), protocol.Recipe, $"architecture {arch}'s experiment protocol"),
        };
    }

    /// <summary>
    /// The partial zips of <paramref name="graph"/> that <paramref name="fractions"/> of its depth
    /// ask for, as ZipIt!n/m labels: each the nearest stop point not taken by an earlier fraction
    /// (the earlier one on a tie), as many as the graph has.
    /// </summary>
    public static IReadOnlyList<int> StopsOf(MergeGraph graph, IReadOnlyList<double> fractions)
    {
        var free = graph.Stages.Select(s => s.StopLabel).OfType<int>().Where(l => l < graph.LayerCount).Order().ToList();
        var stops = new List<int>();
        foreach (var f in fractions)
        {
            if (free.Count == 0) break;
            var nearest = free.MinBy(l => Math.Abs(l - f * graph.LayerCount));
            stops.Add(nearest);
            free.Remove(nearest);
        }
        return stops;
    }

    /// <summary>
    /// The architecture settings of every model: the protocol's (a ViT's MLP ratio 2 and patch 8 are
    /// CPU-sized defaults), with <see cref="Width"/>, <see cref="Depth"/>, <see cref="Heads"/> and
    /// <see cref="Norm"/> for the keys it has, then <see cref="Set"/> over them.
    /// </summary>
    public Dictionary<string, string> ModelSettings()
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        // Without a protocol (a given pair of an architecture that declares none): width and norm, as ResNets take them.
        var settings = new Dictionary<string, string>(Protocol?.Settings ?? new Dictionary<string, string> { ["width"] = "", ["norm"] = "" });
        var options = new Dictionary<string, string> { ["width"] = I(Width), ["depth"] = I(Depth), ["heads"] = I(Heads), ["norm"] = Norm };
        foreach (var key in settings.Keys.ToList())
            if (options.TryGetValue(key, out var value)) settings[key] = value;
        foreach (var (k, v) in Set) settings[k] = v;
        return settings;
    }

    /// <summary>The recipe every model is trained by, its logit scale chosen for <see cref="Norm"/> where not given.</summary>
    public TrainingRecipe ResolvedRecipe() => Recipe.For(ModelSettings());

    /// <summary>The recipe the task models are fine-tuned by from the pretrained start: <see cref="ResolvedRecipe"/> with <see cref="FineTune"/>, then <c>--finetune-lr</c> and <c>--finetune-epochs</c>.</summary>
    public TrainingRecipe FineTuneRecipe()
    {
        var recipe = RecipeValues.Apply(ResolvedRecipe(), FineTune, $"architecture {Arch}'s experiment protocol (fine-tuning)");
        if (FineTuneLearningRate is { } lr) recipe = recipe with { LearningRate = lr };
        if (FineTuneEpochs is { } epochs) recipe = recipe with { Epochs = epochs };
        return recipe;
    }
    public int EvalBatchSize { get; init; } = 250;
}
