namespace ZipIt.Train;

/// <summary>How the learning rate moves over the run: a short linear warm-up, then a cosine or a linear decay to zero.</summary>
internal enum LearningRateSchedule
{
    /// <summary>Warm-up, then linear decay to zero: the schedule of the ZipIt! reference training.</summary>
    OneCycle,
    /// <summary>Warm-up, then cosine decay to zero.</summary>
    Cosine,
}

/// <summary>What the model's output is trained as.</summary>
internal enum TrainHead
{
    /// <summary>Unit-normalised output scored against class embeddings (ZipIt! §7.2): a shared output space across tasks.</summary>
    Clip,
    /// <summary>One logit per class of the dataset, cross-entropy over the task's classes.</summary>
    Logits,
}

/// <summary>Everything that decides a training run; equal options and data give an identical checkpoint.</summary>
internal sealed record TrainOptions
{
    public required string Variant { get; init; }
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
    public required string Task { get; init; }
    public long Seed { get; init; }
    public int Epochs { get; init; } = 20;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 0.1;
    public double Momentum { get; init; } = 0.9;
    public double WeightDecay { get; init; } = 5e-4;
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.OneCycle;
    /// <summary>Share of the steps spent warming up (the reference: 5 of 100 epochs).</summary>
    public double Warmup { get; init; } = 0.05;
    public TrainHead Head { get; init; } = TrainHead.Clip;
    public int EmbeddingDimension { get; init; } = ClassEmbeddings.DefaultDimension;
    public string? EmbeddingsFile { get; init; }
    /// <summary>Logit scale of clip heads (the reference's 100, CLIP's temperature).</summary>
    public double Scale { get; init; } = 100;
    public int ImageSize { get; init; } = 32;
    /// <summary>Train on at most this many images of the training split (a seeded draw); all when null.</summary>
    public long? TrainImages { get; init; }
    public bool Augment { get; init; } = true;
}
