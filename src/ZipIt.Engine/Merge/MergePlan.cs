using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Core;
using ZipIt.Engine.Evaluate;
using ZipIt.Matching;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;

namespace ZipIt.Engine.Merge;

/// <summary>
/// A recipe checked before any model is loaded or any forward pass runs: the matcher and its
/// settings (preset, flags), what it needs (data, weights), the evaluation's tasks and head, and
/// that every file it names exists. Bad values are usage errors (exit 2), missing files input
/// errors (exit 3), all before any work.
/// </summary>
internal sealed record MergePlan(IMatcher Matcher, MatcherSettings Settings, MatcherInputs Required, MergePlan.EvaluationPlan? Evaluation,
    TorchSharp.torch.ScalarType DType)
{
    public sealed record EvaluationPlan(string Data, IReadOnlyList<EvaluationTask> Tasks, HeadKind Head, string? EmbeddingsFile);

    public static MergePlan Check(MergeRecipe recipe, PluginCatalog plugins)
    {
        if (recipe.Models is not { Length: >= 2 }) throw ZipItException.Usage("merge needs two or more models (--models or the recipe's \"models\")");
        if (recipe.Output is null) throw ZipItException.Usage("merge needs an output (-o or the recipe's \"output\")");
        if (recipe.BatchSize is not { } batch || batch < 1) throw ZipItException.Usage($"--batch-size must be at least 1, got {recipe.BatchSize}");
        if (recipe.Images is { } images && images < 1) throw ZipItException.Usage($"--images must be at least 1, got {images}");
        var dtype = StorageDType.Parse(recipe.DType) ?? TorchSharp.torch.ScalarType.Float32;
        var matcher = plugins.Matcher(recipe.Matcher!);
        var values = new Dictionary<string, string>(recipe.Settings ?? [], StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in MatcherFlags.Values(recipe.Alpha, recipe.Beta, [])) values[k] = v;
        var settings = MatchStage.Settings(matcher, values, recipe.Preset);
        var required = MatchStage.RequiredInputs(matcher, settings);
        // A data-free matcher (average, mudsc with balance=1) needs no data; then BatchNorm is not reset.
        if (recipe.Data is null && required.HasFlag(MatcherInputs.Activations))
            throw ZipItException.Usage($"merge needs calibration data (--data or the recipe's \"data\"): matcher {matcher.Name} uses activations with these settings");

        EvaluationPlan? evaluation = null;
        if (recipe.Evaluate is { } e)
        {
            if (e.Data is null || e.Tasks is null) throw ZipItException.Usage("evaluation needs both data (--eval-data) and tasks (--task)");
            var head = HeadKind.Logits;
            if (e.Head is not null && !Enum.TryParse(e.Head, ignoreCase: true, out head))
                throw ZipItException.Usage($"--head {e.Head}: expected logits or clip");
            if (head == HeadKind.Clip && e.ClassEmbeddings is null) throw ZipItException.Usage("--head clip needs --class-embeddings FILE");
            evaluation = new EvaluationPlan(e.Data, EvaluationTask.Parse(e.Tasks), head, e.ClassEmbeddings);
        }

        foreach (var (option, path) in recipe.Models.Select(m => ("--models", (string?)m))
                     .Append(("--data", recipe.Data)).Append(("--eval-data", evaluation?.Data)).Append(("--class-embeddings", evaluation?.EmbeddingsFile)))
            if (path is not null && !File.Exists(path) && !Directory.Exists(path))
                throw ZipItException.Input($"{option} {path}: no such file");
        // Outputs: never an input, and their folder writable, before any work.
        OutputGuard.RequireDistinct(
            [.. recipe.Models.Select(m => new OutputGuard.Named("--models", m)), new("--data", recipe.Data), new("--eval-data", evaluation?.Data),
             new("--class-embeddings", evaluation?.EmbeddingsFile)],
            [new("--output", recipe.Output), new("the recipe beside --output", recipe.Output + ".recipe.json"),
             new("the model card beside --output", recipe.Card is false ? null : ModelCard.PathFor(recipe.Output))]);
        OutputGuard.RequireWritable("--output", recipe.Output);
        if (recipe.Card is not false) ModelCard.RequireReplaceable(ModelCard.PathFor(recipe.Output));
        return new MergePlan(matcher, settings, required, evaluation, dtype);
    }
}
