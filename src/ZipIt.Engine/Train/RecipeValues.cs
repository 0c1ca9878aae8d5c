using System.Globalization;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Train;

/// <summary>
/// A training recipe written as name=value pairs, by the names of <c>train</c>'s options without
/// dashes (<c>lr</c>, <c>weight-decay</c>, ...): how an architecture's <see cref="ExperimentProtocol"/>
/// states its recipe without depending on the tool's types.
/// </summary>
internal static class RecipeValues
{
    /// <summary><paramref name="recipe"/> with <paramref name="values"/> applied; exit 4 naming <paramref name="source"/> for an unknown name or a bad value.</summary>
    public static TrainingRecipe Apply(TrainingRecipe recipe, IReadOnlyDictionary<string, string> values, string source)
    {
        foreach (var (name, value) in values)
        {
            double D() => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw Bad(name, value, source);
            int I() => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw Bad(name, value, source);
            bool B() => bool.TryParse(value, out var b) ? b : throw Bad(name, value, source);
            T E<T>() where T : struct, Enum => Enum.TryParse<T>(value.Replace("-", ""), ignoreCase: true, out var e) ? e : throw Bad(name, value, source);
            recipe = name.ToLowerInvariant() switch
            {
                "optimizer" => recipe with { Optimizer = E<OptimizerKind>() },
                "lr" => recipe with { LearningRate = D() },
                "momentum" => recipe with { Momentum = D() },
                "nesterov" => recipe with { Nesterov = B() },
                "weight-decay" => recipe with { WeightDecay = D() },
                "schedule" => recipe with { Schedule = E<LearningRateSchedule>() },
                "warmup" => recipe with { Warmup = D() },
                "epochs" => recipe with { Epochs = I() },
                "batch-size" => recipe with { BatchSize = I() },
                "crop-padding" => recipe with { CropPadding = I() },
                "flip" => recipe with { HorizontalFlip = B() },
                "label-smoothing" => recipe with { LabelSmoothing = D() },
                "clip-grad-norm" => recipe with { GradientClipNorm = D() },
                "logit-scale" => recipe with { LogitScale = D() },
                "embedding-dim" => recipe with { EmbeddingDimension = I() },
                _ => throw ZipItException.Plugin($"{source}: unknown training recipe value '{name}' (known: optimizer, lr, momentum, nesterov, weight-decay, schedule, warmup, epochs, batch-size, crop-padding, flip, label-smoothing, clip-grad-norm, logit-scale, embedding-dim)"),
            };
        }
        return recipe;
    }

    private static ZipItException Bad(string name, string value, string source) =>
        ZipItException.Plugin($"{source}: training recipe value {name}={value} is not valid");
}
