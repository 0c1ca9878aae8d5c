namespace ZipIt.Reproduce;

/// <summary>Everything that decides a <c>reproduce</c> run (the report records it).</summary>
internal sealed record ReproduceOptions
{
    public required string Setting { get; init; }
    public string Variant { get; init; } = "resnet20";
    public int Width { get; init; } = 4;
    /// <summary>bn or gn: BatchNorm ResNets (the paper) or GroupNorm ones (MuDSC's group matching).</summary>
    public string Norm { get; init; } = "bn";
    public int Epochs { get; init; } = 20;
    public int Pairs { get; init; } = 3;
    /// <summary>Images (half from each task's training split, augmented) for collecting statistics and resetting BatchNorm.</summary>
    public int Calibration { get; init; } = 1000;
    /// <summary>Train on a seeded draw of at most this many images per model (all when null).</summary>
    public long? TrainImages { get; init; }
    public int BatchSize { get; init; } = 128;
    /// <summary>
    /// Peak learning rate. Lower than the reference's 0.4 at batch 500 (0.1 at our 128): with the
    /// ×100 logit scale of class-embedding heads, short runs learn far better at 0.01–0.02
    /// (Fashion-MNIST 0–4, 2 epochs of 4,000 images: 79 % validation accuracy at 0.01, 57–59 % at 0.05–0.1).
    /// </summary>
    public double LearningRate { get; init; } = 0.02;
    public int EmbeddingDimension { get; init; } = 128;
    /// <summary>
    /// Class-embedding heads score 100·cosine in the reference (null: that, for bn). GroupNorm
    /// ResNets do not learn under it: their features collapse to the cosine-0 point (loss ln 5,
    /// chance accuracy), in PyTorch as in zipit. ResNet-20×4 GN, Fashion-MNIST 0–4, 2 epochs at lr
    /// 0.02, validation accuracy by scale (H100): 100 → 20.5 %, 20 → 81.9 %, 10 → 87.8 %; so gn
    /// defaults to <see cref="GroupNormLogitScale"/>.
    /// </summary>
    public double? LogitScale { get; init; }
    public const double GroupNormLogitScale = 10;
    public double EffectiveLogitScale => LogitScale ?? (Norm == "gn" ? GroupNormLogitScale : 100);
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
    public int EvalBatchSize { get; init; } = 250;
}
