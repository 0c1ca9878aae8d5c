using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;

namespace ZipIt.Engine.Train;

/// <summary>The optimiser of a training recipe.</summary>
internal enum OptimizerKind
{
    /// <summary>SGD with momentum (optionally Nesterov) and L2 weight decay added to the gradient: PyTorch's <c>torch.optim.SGD</c>.</summary>
    Sgd,
    /// <summary>Adam with decoupled weight decay: PyTorch's <c>torch.optim.AdamW</c>.</summary>
    [JsonStringEnumMemberName("adamw")]
    AdamW,
}

/// <summary>How the learning rate (and, for one-cycle, the momentum) moves over the run, stepped per optimiser step.</summary>
internal enum LearningRateSchedule
{
    /// <summary>
    /// PyTorch's <c>OneCycleLR</c> (two phases, cosine annealing): from max_lr/div_factor up to
    /// max_lr over the warm-up share, then down to max_lr/(div_factor·final_div_factor); with
    /// cycle_momentum the momentum (Adam's β1) goes from max to base momentum and back.
    /// </summary>
    OneCycle,
    /// <summary>Linear warm-up from 0 to the peak over the warm-up share, then linear decay to 0 (the ZipIt! reference's CLIP training).</summary>
    Linear,
    /// <summary>Linear warm-up over the warm-up share, then cosine decay to 0.</summary>
    Cosine,
}

/// <summary>The arithmetic of training steps.</summary>
internal enum TrainPrecision
{
    /// <summary>float32 throughout (TF32 convolutions on GPUs).</summary>
    F32,
    /// <summary>
    /// bfloat16 mixed precision on a GPU: forward and backward on a bfloat16 copy of the model,
    /// float32 master weights (and optimiser state) updated from its gradients; the loss in float32.
    /// </summary>
    Bf16,
}

/// <summary>What the model's output is trained as.</summary>
internal enum TrainHead
{
    /// <summary>Unit-normalised output scored against class embeddings: a shared output space across tasks.</summary>
    Clip,
    /// <summary>One logit per class of the dataset, cross-entropy over the task's classes.</summary>
    Logits,
}

/// <summary>
/// How a model is trained, independent of what is trained (variant, task, seed, data size): the
/// one recipe type of <c>train</c>, <c>reproduce</c> and <c>demo</c>. Its defaults are the
/// reference's recipe for the CIFAR ResNet-20 pairs: SGD with Nesterov momentum 0.9 and weight
/// decay 5e-4, batch 256, 20 epochs, one-cycle to 0.2 with a 20 % warm-up, random crops with
/// 4-pixel padding and no flips, class-embedding heads of 128 dimensions at 100·cosine. A
/// checkpoint records it (<see cref="MetadataKey"/>) and the model cache keys on it, so a model is
/// never reused for another recipe.
/// </summary>
internal sealed record TrainingRecipe
{
    /// <summary>The checkpoint metadata key whose value is the recipe as JSON.</summary>
    public const string MetadataKey = MetadataKeys.TrainingRecipe;
    /// <summary>The logit scale of class-embedding heads: the reference's 100 (CLIP's temperature).</summary>
    public const double DefaultLogitScale = 100;
    /// <summary>
    /// The logit scale of class-embedding heads on GroupNorm models. At 100 their features collapse
    /// to the point where every cosine is 0 (loss ln K, chance accuracy), in PyTorch as in zipit.
    /// ResNet-20×4 GN, Fashion-MNIST 0–4, 2 epochs at lr 0.02, validation accuracy by scale (H100):
    /// 100 → 20.5 %, 20 → 81.9 %, 10 → 87.8 %.
    /// </summary>
    public const double GroupNormLogitScale = 10;

    public OptimizerKind Optimizer { get; init; } = OptimizerKind.Sgd;
    /// <summary>Peak learning rate (one-cycle's max_lr).</summary>
    public double LearningRate { get; init; } = 0.2;
    /// <summary>SGD momentum when it is not cycled (a linear or cosine schedule).</summary>
    public double Momentum { get; init; } = 0.9;
    public bool Nesterov { get; init; } = true;
    /// <summary>SGD: L2 penalty added to the gradient; AdamW: decoupled decay, the weights shrink by lr·decay each step.</summary>
    public double WeightDecay { get; init; } = 5e-4;
    /// <summary>AdamW's β1 when it is not cycled.</summary>
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Epsilon { get; init; } = 1e-8;
    public LearningRateSchedule Schedule { get; init; } = LearningRateSchedule.OneCycle;
    /// <summary>Share of the steps spent rising to the peak (one-cycle's pct_start).</summary>
    public double Warmup { get; init; } = 0.2;
    /// <summary>One-cycle: the run starts at lr / this.</summary>
    public double DivFactor { get; init; } = 25;
    /// <summary>One-cycle: the run ends at lr / (<see cref="DivFactor"/> · this).</summary>
    public double FinalDivFactor { get; init; } = 1e4;
    /// <summary>One-cycle: move the momentum (AdamW's β1) against the learning rate between <see cref="BaseMomentum"/> and <see cref="MaxMomentum"/>.</summary>
    public bool CycleMomentum { get; init; } = true;
    public double BaseMomentum { get; init; } = 0.85;
    public double MaxMomentum { get; init; } = 0.95;
    public int BatchSize { get; init; } = 256;
    public int Epochs { get; init; } = 20;
    /// <summary>Random crops after zero padding by this many pixels (0: no crops).</summary>
    public int CropPadding { get; init; } = 4;
    /// <summary>Random horizontal flips, where the dataset allows them (never for digits).</summary>
    public bool HorizontalFlip { get; init; }
    public double LabelSmoothing { get; init; }
    /// <summary>Clip the gradients' global L2 norm to this before each step (null: no clipping).</summary>
    public double? GradientClipNorm { get; init; }
    public TrainHead Head { get; init; } = TrainHead.Clip;
    /// <summary>Class-embedding heads: logits are this times the cosine; null until <see cref="For"/> chooses it from the normalisation.</summary>
    public double? LogitScale { get; init; }
    public int EmbeddingDimension { get; init; } = ClassEmbeddings.DefaultDimension;
    public TrainPrecision Precision { get; init; } = TrainPrecision.F32;

    /// <summary>The logit scale a model with these architecture settings gets when none is given: <see cref="GroupNormLogitScale"/> for norm=gn, else <see cref="DefaultLogitScale"/>.</summary>
    public static double DefaultLogitScaleFor(IReadOnlyDictionary<string, string> settings) =>
        settings.Any(kv => kv.Key.Equals("norm", StringComparison.OrdinalIgnoreCase) && kv.Value.Equals("gn", StringComparison.OrdinalIgnoreCase))
            ? GroupNormLogitScale : DefaultLogitScale;

    /// <summary>
    /// The recipe as it applies to a model with these architecture settings: the logit scale
    /// chosen for its normalisation unless one was given. Every command resolves its recipe here,
    /// so the checkpoint and the cache key record the scale actually used.
    /// </summary>
    public TrainingRecipe For(IReadOnlyDictionary<string, string> settings) =>
        LogitScale is null ? this with { LogitScale = DefaultLogitScaleFor(settings) } : this;

    /// <summary>A one-line error for the first option out of range (named as the command-line option).</summary>
    public void Validate()
    {
        static bool Finite(double v) => double.IsFinite(v);
        if (Epochs < 1) throw ZipItException.Usage($"--epochs must be at least 1, got {Epochs}");
        if (BatchSize < 2) throw ZipItException.Usage($"--batch-size must be at least 2, got {BatchSize}");
        if (!(LearningRate > 0 && Finite(LearningRate))) throw ZipItException.Usage($"--lr must be positive, got {LearningRate}");
        if (!(Momentum >= 0 && Momentum < 1)) throw ZipItException.Usage($"--momentum must be in [0, 1), got {Momentum}");
        if (!(WeightDecay >= 0 && Finite(WeightDecay))) throw ZipItException.Usage($"--weight-decay must be at least 0, got {WeightDecay}");
        if (!(Beta1 >= 0 && Beta1 < 1) || !(Beta2 >= 0 && Beta2 < 1)) throw ZipItException.Usage($"--betas must be in [0, 1), got {Beta1} {Beta2}");
        if (!(Epsilon > 0 && Finite(Epsilon))) throw ZipItException.Usage($"AdamW epsilon must be positive, got {Epsilon}");
        if (!(Warmup >= 0 && Warmup <= 1)) throw ZipItException.Usage($"--warmup must be in [0, 1], got {Warmup}");
        if (!(DivFactor >= 1 && Finite(DivFactor)) || !(FinalDivFactor >= 1 && Finite(FinalDivFactor)))
            throw ZipItException.Usage($"one-cycle div factors must be at least 1, got {DivFactor} and {FinalDivFactor}");
        if (!(BaseMomentum >= 0 && BaseMomentum <= MaxMomentum && MaxMomentum < 1))
            throw ZipItException.Usage($"--momentum-range must be 0 ≤ base ≤ max < 1, got {BaseMomentum} {MaxMomentum}");
        var cycled = Schedule == LearningRateSchedule.OneCycle && CycleMomentum;
        if (Optimizer == OptimizerKind.Sgd && Nesterov && (cycled ? MaxMomentum : Momentum) <= 0)
            throw ZipItException.Usage("Nesterov momentum needs a positive momentum");
        if (CropPadding < 0) throw ZipItException.Usage($"--crop-padding must be at least 0, got {CropPadding}");
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1)) throw ZipItException.Usage($"--label-smoothing must be in [0, 1), got {LabelSmoothing}");
        if (GradientClipNorm is { } clip && !(clip > 0 && Finite(clip))) throw ZipItException.Usage($"--clip-grad-norm must be positive, got {clip}");
        if (LogitScale is { } scale && !(scale > 0 && Finite(scale))) throw ZipItException.Usage($"--logit-scale must be a positive number, got {scale}");
        if (EmbeddingDimension < 2) throw ZipItException.Usage($"--embedding-dim must be at least 2, got {EmbeddingDimension}");
    }

    /// <summary><see cref="Validate()"/>, and whether <paramref name="device"/> can train at <see cref="Precision"/>.</summary>
    public void Validate(TorchSharp.torch.Device device)
    {
        Validate();
        // Refused rather than ignored: a CPU run asked for bf16 would silently be another experiment.
        if (Precision == TrainPrecision.Bf16 && device.type != TorchSharp.DeviceType.CUDA)
            throw ZipItException.Usage("--precision bf16 needs a GPU (--device cuda); training on the CPU is float32");
    }

    /// <summary>One line for reports, e.g. "SGD (Nesterov), weight decay 0.0005, one-cycle to lr 0.2 (20 % warm-up, momentum 0.95–0.85), batch 256, 20 epochs, …".</summary>
    public string Describe()
    {
        string I(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
        var cycled = Schedule == LearningRateSchedule.OneCycle && CycleMomentum;
        var optimizer = Optimizer == OptimizerKind.AdamW
            ? $"AdamW (β {(cycled ? "cycled" : I(Beta1))}, {I(Beta2)}), decoupled weight decay {I(WeightDecay)}"
            : $"SGD ({(Nesterov ? "Nesterov" : "classical")} momentum{(cycled ? "" : " " + I(Momentum))}), weight decay {I(WeightDecay)}";
        var schedule = Schedule switch
        {
            LearningRateSchedule.OneCycle => $"one-cycle to lr {I(LearningRate)} ({I(100 * Warmup)} % warm-up{(cycled ? $", momentum {I(MaxMomentum)}–{I(BaseMomentum)}" : "")})",
            LearningRateSchedule.Cosine => $"lr {I(LearningRate)}, {I(100 * Warmup)} % linear warm-up then cosine decay",
            _ => $"lr {I(LearningRate)}, {I(100 * Warmup)} % linear warm-up then linear decay",
        };
        var augment = CropPadding > 0 ? $"random crops (padding {CropPadding})" : "no crops";
        var extras = (LabelSmoothing > 0 ? $", label smoothing {I(LabelSmoothing)}" : "") + (GradientClipNorm is { } c ? $", gradient norm clipped to {I(c)}" : "");
        var head = Head == TrainHead.Clip
            ? $"class-embedding head ({EmbeddingDimension}-d, {(LogitScale is { } s ? I(s) : $"{I(DefaultLogitScale)} ({I(GroupNormLogitScale)} for gn)")}·cosine)"
            : "logit head";
        var precision = Precision == TrainPrecision.Bf16 ? ", bfloat16 mixed precision" : "";
        return $"{optimizer}, {schedule}, batch {BatchSize}, {Epochs} epochs, {augment}{(HorizontalFlip ? " and flips" : ", no flips")}{extras}, {head}{precision}";
    }

    /// <summary>The recipe as the JSON recorded under <see cref="MetadataKey"/>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json.Compact);

    /// <summary>The recipe a checkpoint records, or null for one made before recipes were recorded (or by another tool).</summary>
    public static TrainingRecipe? FromMetadata(IReadOnlyDictionary<string, string> metadata, string file)
    {
        if (!metadata.TryGetValue(MetadataKey, out var json)) return null;
        try
        {
            return JsonSerializer.Deserialize<TrainingRecipe>(json, Json.Compact)
                ?? throw ZipItException.Input($"{file}: metadata '{MetadataKey}' is null");
        }
        catch (JsonException e)
        {
            throw ZipItException.Input($"{file}: metadata '{MetadataKey}' is not a training recipe ({e.Message})");
        }
    }
}
