using System.CommandLine;
using System.Globalization;
using ZipIt.Engine.Core;
using ZipIt.Engine.Train;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary>
/// The command-line options of a <see cref="TrainingRecipe"/>, defined once for <c>train</c>,
/// <c>reproduce</c> and <c>demo</c> so that their names, help and meaning cannot drift; each
/// command passes its own default recipe and reads the recipe back with <see cref="Read"/>.
/// </summary>
internal sealed class RecipeOptions
{
    private readonly TrainingRecipe _defaults;
    private readonly Option<int> _epochs;
    private readonly Option<int> _batchSize;
    private readonly Option<OptimizerKind?> _optimizer;
    private readonly Option<double> _lr;
    private readonly Option<double> _momentum;
    private readonly Option<bool> _nesterov;
    private readonly Option<double> _weightDecay;
    private readonly Option<double[]> _betas;
    private readonly Option<LearningRateSchedule?> _schedule;
    private readonly Option<double> _warmup;
    private readonly Option<double[]> _momentumRange;
    private readonly Option<int> _cropPadding;
    private readonly Option<bool> _flip;
    private readonly Option<double> _labelSmoothing;
    private readonly Option<double?> _clip;
    private readonly Option<TrainHead?>? _head;
    private readonly Option<double?> _logitScale;
    private readonly Option<int> _embeddingDim;
    private readonly Option<TrainPrecision?> _precision;

    /// <param name="defaults">The command's default recipe.</param>
    /// <param name="withHead">Whether the head can be chosen (<c>reproduce</c> evaluates class-embedding heads only).</param>
    public RecipeOptions(TrainingRecipe defaults, bool withHead)
    {
        var d = _defaults = defaults;
        string Invariant(double v) => v.ToString(CultureInfo.InvariantCulture);
        _epochs = new("--epochs") { Description = "Passes over the training split per model.", DefaultValueFactory = _ => d.Epochs };
        _batchSize = new("--batch-size") { Description = "Training images per step.", DefaultValueFactory = _ => d.BatchSize, HelpName = "N" };
        _optimizer = CommonOptions.Choice<OptimizerKind>("--optimizer", "sgd (PyTorch's SGD) or adamw (Adam with decoupled weight decay).", d.Optimizer);
        _lr = new("--lr") { Description = "Peak learning rate (one-cycle's max_lr).", DefaultValueFactory = _ => d.LearningRate };
        _momentum = new("--momentum") { Description = "SGD momentum when the schedule does not cycle it (linear, cosine).", DefaultValueFactory = _ => d.Momentum };
        _nesterov = new("--nesterov") { Description = $"SGD with Nesterov momentum (--nesterov false: classical momentum). [default: {(d.Nesterov ? "true" : "false")}]", DefaultValueFactory = _ => d.Nesterov };
        _weightDecay = new("--weight-decay") { Description = "SGD: L2 penalty on the gradient; AdamW: decoupled decay.", DefaultValueFactory = _ => d.WeightDecay };
        _betas = new("--adam-betas")
        {
            // The defaults are stated in the text: help would print an array default as "0.9|0.999".
            Description = $"AdamW's β1 and β2 (PyTorch's betas; β1 is cycled by one-cycle). [default: {Invariant(d.Beta1)} {Invariant(d.Beta2)}]",
            AllowMultipleArgumentsPerToken = true, Arity = new ArgumentArity(2, 2), HelpName = "B1 B2",
        };
        _schedule = CommonOptions.Choice<LearningRateSchedule>("--schedule",
            "onecycle: PyTorch's OneCycleLR (cosine, from lr/25 up over the warm-up share, down to lr/25e4, momentum cycled 0.95 → 0.85 → 0.95); linear or cosine: linear warm-up then linear or cosine decay to 0.",
            d.Schedule);
        _warmup = new("--warmup") { Description = "Share of the steps rising to the peak learning rate (one-cycle's pct_start).", DefaultValueFactory = _ => d.Warmup, HelpName = "SHARE" };
        _momentumRange = new("--momentum-range")
        {
            Description = $"One-cycle's base and max momentum. [default: {Invariant(d.BaseMomentum)} {Invariant(d.MaxMomentum)}]",
            AllowMultipleArgumentsPerToken = true, Arity = new ArgumentArity(2, 2), HelpName = "BASE MAX",
        };
        _cropPadding = new("--crop-padding") { Description = "Random crops after zero-padding by this many pixels (0: none).", DefaultValueFactory = _ => d.CropPadding, HelpName = "PIXELS" };
        _flip = new("--flip") { Description = $"Random horizontal flips (never for digits). [default: {(d.HorizontalFlip ? "true" : "false")}]", DefaultValueFactory = _ => d.HorizontalFlip };
        _labelSmoothing = new("--label-smoothing") { Description = "Label smoothing of the cross-entropy.", DefaultValueFactory = _ => d.LabelSmoothing, HelpName = "EPS" };
        _clip = new("--clip-grad-norm") { Description = "Clip the gradients' global L2 norm to this before each step. [default: no clipping]", DefaultValueFactory = _ => d.GradientClipNorm, HelpName = "NORM" };
        if (withHead)
            _head = CommonOptions.Choice<TrainHead>("--head", "clip: output scored against class embeddings (a space shared across tasks); logits: one output per class.", d.Head);
        _logitScale = new("--logit-scale")
        {
            Description = $"Class-embedding heads: logits are this times the cosine. [default: {Invariant(TrainingRecipe.DefaultLogitScale)}, the reference's; {Invariant(TrainingRecipe.GroupNormLogitScale)} for norm=gn, which does not learn at {Invariant(TrainingRecipe.DefaultLogitScale)}]",
            DefaultValueFactory = _ => d.LogitScale, HelpName = "S",
        };
        _embeddingDim = new("--embedding-dim") { Description = "Width of a class-embedding head's output.", DefaultValueFactory = _ => d.EmbeddingDimension, HelpName = "D" };
        _precision = CommonOptions.Choice<TrainPrecision>("--precision",
            "f32, or bf16: bfloat16 mixed precision on a GPU (a bfloat16 copy of the model runs forward and backward, float32 master weights are updated); refused on the CPU.", d.Precision);
    }

    /// <summary>Every option, to add to a command.</summary>
    public IEnumerable<Option> All =>
        new Option?[] { _epochs, _batchSize, _optimizer, _lr, _momentum, _nesterov, _weightDecay, _betas, _schedule, _warmup, _momentumRange,
            _cropPadding, _flip, _labelSmoothing, _clip, _head, _logitScale, _embeddingDim, _precision }.OfType<Option>();

    /// <summary>
    /// The recipe the command line asks for: an option given wins, an option left out takes its
    /// value from <paramref name="defaults"/> (default: the command's own defaults, the ones its
    /// help shows; <c>reproduce --arch vit</c> passes the ViT recipe). Not yet validated or resolved.
    /// </summary>
    public TrainingRecipe Read(CommandContext ctx, TrainingRecipe? defaults = null)
    {
        var d = defaults ?? _defaults;
        T Pick<T>(Option<T> option, T fallback) => ctx.ParseResult.GetResult(option) is { Implicit: false } ? ctx.Value(option)! : fallback;
        // An array option that was not given reads as empty, not null.
        var betas = Pick(_betas, [d.Beta1, d.Beta2]) is { Length: > 0 } givenBetas ? givenBetas : [d.Beta1, d.Beta2];
        var range = Pick(_momentumRange, [d.BaseMomentum, d.MaxMomentum]) is { Length: > 0 } givenRange ? givenRange : [d.BaseMomentum, d.MaxMomentum];
        if (betas.Length != 2) throw ZipItException.Usage($"--betas needs two values, got {betas.Length}");
        if (range.Length != 2) throw ZipItException.Usage($"--momentum-range needs two values, got {range.Length}");
        return d with
        {
            Epochs = Pick(_epochs, d.Epochs),
            BatchSize = Pick(_batchSize, d.BatchSize),
            Optimizer = ctx.Value(_optimizer) ?? d.Optimizer,
            LearningRate = Pick(_lr, d.LearningRate),
            Momentum = Pick(_momentum, d.Momentum),
            Nesterov = Pick(_nesterov, d.Nesterov),
            WeightDecay = Pick(_weightDecay, d.WeightDecay),
            Beta1 = betas[0],
            Beta2 = betas[1],
            Schedule = ctx.Value(_schedule) ?? d.Schedule,
            Warmup = Pick(_warmup, d.Warmup),
            BaseMomentum = range[0],
            MaxMomentum = range[1],
            CropPadding = Pick(_cropPadding, d.CropPadding),
            HorizontalFlip = Pick(_flip, d.HorizontalFlip),
            LabelSmoothing = Pick(_labelSmoothing, d.LabelSmoothing),
            GradientClipNorm = Pick(_clip, d.GradientClipNorm),
            Head = (_head is null ? null : ctx.Value(_head)) ?? d.Head,
            LogitScale = Pick(_logitScale, d.LogitScale),
            EmbeddingDimension = Pick(_embeddingDim, d.EmbeddingDimension),
            Precision = ctx.Value(_precision) ?? d.Precision,
        };
    }
}
