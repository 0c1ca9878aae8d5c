using System.Globalization;
using ZipIt.Engine.Train;

namespace ZipIt.Engine.Reproduce;

/// <summary>Everything that decides a <c>reproduce</c> run (the report records it).</summary>
internal sealed record ReproduceOptions
{
    public const string ResNet = "resnet";
    public const string Vit = "vit";
    public const string Pretrained = "pretrained";
    public const string Scratch = "scratch";

    public required string Setting { get; init; }
    /// <summary>resnet (CIFAR ResNet-20s, the ZipIt! paper) or vit (small timm ViTs, MuDSC's ViT setting).</summary>
    public string Arch { get; init; } = ResNet;
    /// <summary>
    /// scratch: every model from its own seed (ZipIt!'s protocol); pretrained: per pair, one model
    /// pretrained on <see cref="PretrainTask"/> from which both task models are fine-tuned (MuDSC's).
    /// </summary>
    public string Init { get; init; } = Scratch;
    /// <summary>The task the shared start of a pair is pretrained on (<see cref="Init"/> = pretrained).</summary>
    public string PretrainTask { get; init; } = "mnist:all";
    /// <summary>The peak learning rate of fine-tuning from the pretrained start (null: the recipe's).</summary>
    public double? FineTuneLearningRate { get; init; }
    public string Variant { get; init; } = "resnet20";
    /// <summary>ResNet: the width multiplier; ViT: the embedding width.</summary>
    public int Width { get; init; } = 4;
    /// <summary>ViT blocks.</summary>
    public int Depth { get; init; } = 3;
    /// <summary>ViT attention heads per block.</summary>
    public int Heads { get; init; } = 2;
    /// <summary>Further architecture settings (<c>--set name=value</c>), over the ones above.</summary>
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

    /// <summary>
    /// A ViT's two partial zips: after the block about two thirds and one third of the way through
    /// (ZipIt!n/m labels, block b ending at layer 1 + 4b; b = 0 is the patch embedding), as [13, 7]
    /// of a ResNet-20's 20 layers.
    /// </summary>
    public static IReadOnlyList<int> VitStops(int depth)
    {
        var late = Math.Max(1, (int)Math.Round(2.0 * depth / 3, MidpointRounding.AwayFromZero));
        var early = (int)Math.Round(depth / 3.0, MidpointRounding.AwayFromZero);
        if (early >= late) early = late - 1;
        return [1 + 4 * late, 1 + 4 * early];
    }

    /// <summary>
    /// The architecture settings of every model; a ViT's MLP ratio 2 and patch 8 (16 patches of a
    /// 32×32 input) are CPU-sized defaults that <see cref="Set"/> overrides.
    /// </summary>
    public Dictionary<string, string> ModelSettings()
    {
        string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        var settings = Arch == Vit
            ? new Dictionary<string, string> { ["width"] = I(Width), ["depth"] = I(Depth), ["heads"] = I(Heads), ["mlp_ratio"] = "2", ["patch"] = "8" }
            : new Dictionary<string, string> { ["width"] = I(Width), ["norm"] = Norm };
        foreach (var (k, v) in Set) settings[k] = v;
        return settings;
    }

    /// <summary>The recipe every model is trained by, its logit scale chosen for <see cref="Norm"/> where not given.</summary>
    public TrainingRecipe ResolvedRecipe() => Recipe.For(ModelSettings());
    public int EvalBatchSize { get; init; } = 250;
}
