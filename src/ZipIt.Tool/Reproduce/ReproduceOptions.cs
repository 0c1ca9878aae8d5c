using System.Globalization;
using ZipIt.Train;

namespace ZipIt.Reproduce;

/// <summary>Everything that decides a <c>reproduce</c> run (the report records it).</summary>
internal sealed record ReproduceOptions
{
    public required string Setting { get; init; }
    public string Variant { get; init; } = "resnet20";
    public int Width { get; init; } = 4;
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

    /// <summary>The architecture settings of every model.</summary>
    public Dictionary<string, string> ModelSettings() => new() { ["width"] = Width.ToString(CultureInfo.InvariantCulture), ["norm"] = Norm };

    /// <summary>The recipe every model is trained by, its logit scale chosen for <see cref="Norm"/> where not given.</summary>
    public TrainingRecipe ResolvedRecipe() => Recipe.For(ModelSettings());
    public int EvalBatchSize { get; init; } = 250;
}
