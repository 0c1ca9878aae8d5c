using System.Globalization;
using System.Text;
using ZipIt.Engine.Train;

namespace ZipIt.Engine.Reproduce;

/// <summary>A mean and a standard deviation over pairs (sample standard deviation; 0 for one pair), accuracies in percent.</summary>
internal sealed record Stat(double Mean, double Std)
{
    public static Stat Of(IReadOnlyList<double> values)
    {
        var mean = values.Average();
        var std = values.Count > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1)) : 0;
        return new Stat(mean, std);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Mean:0.0}±{Std:0.0}");
}

/// <summary>
/// <c>report.json</c> of <c>reproduce</c> and <c>demo</c>, version 1. Stable: fields are only ever
/// added, never renamed. Accuracies are percentages; <c>flops</c> counts multiply-accumulates per
/// image (the paper's "FLOPs", fvcore's convention) and <c>gflops</c> the same in billions.
/// </summary>
internal sealed record ReproduceReport
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;
    public required string Setting { get; init; }
    public required string Description { get; init; }
    public required string ToolVersion { get; init; }
    public required ReproduceOptions Options { get; init; }
    public required IReadOnlyList<TaskEntry> Tasks { get; init; }
    public required HyperparameterChoice Hyperparameters { get; init; }
    public required IReadOnlyList<Row> Results { get; init; }
    public required IReadOnlyList<ModelEntry> Models { get; init; }
    public required IReadOnlyDictionary<string, double> Seconds { get; init; }
    public IReadOnlyList<string> Plots { get; init; } = [];

    public sealed record TaskEntry(string Name, IReadOnlyList<long> Classes, IReadOnlyList<string> ClassNames, long TrainImages, long ValidationImages, long TestImages);

    public sealed record GridCell(double Alpha, double Beta, double Joint, double Avg);

    public sealed record HyperparameterChoice(double Alpha, double Beta, string SelectedOn, IReadOnlyList<GridCell> Grid);

    public sealed record PairResult(int Pair, double Joint, IReadOnlyDictionary<string, double> Tasks, double Avg);

    /// <param name="Joint">Joint accuracy; for the base models and the Ensemble, after the BatchNorm reset on the calibration images that every method gets (ZipIt! §5).</param>
    public sealed record Row(string Method, string Label, string? Stop, long Flops, double Gflops, Stat Joint,
        IReadOnlyDictionary<string, Stat> Tasks, Stat Avg, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<PairResult> Pairs)
    {
        /// <summary>The base models' and the Ensemble's figures as trained, before the BatchNorm reset (null for merges); the same figures for models without BatchNorm.</summary>
        public Figures? AsTrained { get; init; }
        /// <summary>The refit a <c>+ refit</c> row's merge had (teacher, sequential), or null.</summary>
        public string? Refit { get; init; }
        /// <summary>Whether a <c>+ repair</c> row's merge was repaired.</summary>
        public bool Repair { get; init; }
    }

    /// <summary>Accuracies of one row over the pairs.</summary>
    public sealed record Figures(Stat Joint, IReadOnlyDictionary<string, Stat> Tasks, Stat Avg, IReadOnlyList<PairResult> Pairs)
    {
        public static Figures Of(IReadOnlyList<Evaluate.EvaluationResult> results, IReadOnlyList<Evaluate.EvaluationTask> tasks) => new(
            Stat.Of(results.Select(r => 100 * r.Joint).ToList()),
            tasks.ToDictionary(t => t.Name, t => Stat.Of(results.Select(r => 100 * r.Tasks[t.Name]).ToList())),
            Stat.Of(results.Select(r => 100 * r.Avg).ToList()),
            results.Select((r, i) => new PairResult(i, 100 * r.Joint, r.Tasks.ToDictionary(kv => kv.Key, kv => 100 * kv.Value), 100 * r.Avg)).ToList());
    }

    /// <param name="InitializedFrom">The checkpoint a fine-tuned model started from (<c>--init pretrained</c>), or null.</param>
    public sealed record ModelEntry(int Pair, string Task, long Seed, string Path, bool Cached, double ValidationAccuracy,
        double? TrainImagesPerSecond, double? Seconds, string? InitializedFrom = null);

    /// <summary>The pretrained starts, one per pair (<c>--init pretrained</c>); empty when every model starts from its own seed.</summary>
    public IReadOnlyList<ModelEntry> Pretrained { get; init; } = [];

    /// <summary>Whether the table is of one pair, whose ± std would always read ±0.0.</summary>
    private bool OnePair => Options.Models is not null || Options.Pairs == 1;

    private string Cell(Stat stat) => OnePair ? stat.Mean.ToString("0.0", CultureInfo.InvariantCulture) : stat.ToString();

    /// <summary>The paper-style table: FLOPs, Joint, one column per task, Avg; mean ± std over pairs (the accuracy alone for one pair).</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        var letters = Tasks.Select((t, i) => $"Task {(char)('A' + i)}").ToList();
        sb.AppendLine(CultureInfo.InvariantCulture, $"| Method | FLOPs (G) | Joint | {string.Join(" | ", letters)} | Avg |");
        sb.AppendLine($"| --- | ---: | ---: | {string.Join(" | ", letters.Select(_ => "---:"))} | ---: |");
        foreach (var r in Results)
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Label} | {r.Gflops:0.000} | {Cell(r.Joint)} | {string.Join(" | ", Tasks.Select(t => Cell(r.Tasks[t.Name])))} | {Cell(r.Avg)} |");
        return sb.ToString();
    }

    /// <summary>One line that says how to read the table: what chance is and what the Ensemble is.</summary>
    public string Legend()
    {
        var joint = Tasks.Sum(t => t.Classes.Count);
        var perTask = Tasks.Select(t => t.Classes.Count).Distinct().ToList();
        var taskChance = perTask.Count == 1
            ? string.Create(CultureInfo.InvariantCulture, $"{100.0 / perTask[0]:0.#} % per task ({perTask[0]} classes each)")
            : string.Join(", ", Tasks.Select((t, i) => string.Create(CultureInfo.InvariantCulture, $"{100.0 / t.Classes.Count:0.#} % on task {(char)('A' + i)}")));
        return string.Create(CultureInfo.InvariantCulture,
            $"Accuracy in % on the test split; chance is {100.0 / joint:0.#} % joint ({joint} classes) and {taskChance}. The Ensemble runs all {Tasks.Count} base models side by side ({Tasks.Count}× the FLOPs) and merges nothing: the ceiling a merged model aims at.");
    }

    /// <summary>How long and how fast a recipe trains, e.g. "20 epochs at peak lr 0.001".</summary>
    private static string Schedule(TrainingRecipe recipe) =>
        string.Create(CultureInfo.InvariantCulture, $"{recipe.Epochs} epoch{(recipe.Epochs == 1 ? "" : "s")} at peak lr {recipe.LearningRate}");

    /// <summary>report.md: the table with what it was measured on.</summary>
    public string ToDocument()
    {
        var sb = new StringBuilder();
        var pairs = Options.Pairs;
        sb.AppendLine($"# zipit reproduce {Setting}");
        sb.AppendLine();
        sb.AppendLine(Description + ".");
        sb.AppendLine();
        for (var i = 0; i < Tasks.Count; i++)
            sb.AppendLine(CultureInfo.InvariantCulture, $"- Task {(char)('A' + i)}: `{Tasks[i].Name}` ({string.Join(", ", Tasks[i].ClassNames)}); {Tasks[i].TrainImages} training, {Tasks[i].ValidationImages} validation, {Tasks[i].TestImages} test images");
        // The default architecture's models read as the paper names them (ResNet-20×4); any other's by its settings.
        var shape = Options.Arch == ReproduceOptions.ResNet
            ? $"{Options.Variant}×{Options.Width} ({Options.Norm})"
            : $"{Options.Variant} {string.Join(", ", Options.ModelSettings().Select(kv => $"{kv.Key}={kv.Value}"))}";
        var start = Options.Init == ReproduceOptions.Pretrained
            ? $"per pair one model pretrained on `{Options.PretrainTask}` ({Schedule(Options.ResolvedRecipe())}), both task models fine-tuned from it ({Schedule(Options.FineTuneRecipe())})"
            : "every model from its own seed";
        if (Options.Models is { } given)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"- Models: the given checkpoints {string.Join(", ", given.Select(m => $"`{System.IO.Path.GetFileName(m)}`"))} ({(Options.Arch == ReproduceOptions.ResNet ? $"{Options.Variant}×{Options.Width}" : Options.Variant)}, stored as {GivenModels.Storage(given)}, computed in float32), class-embedding heads; {Options.Calibration} calibration images");
            sb.AppendLine("- Training recipe: as each checkpoint records it (metadata `zipit.recipe`); not trained by this run");
        }
        else
        {
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"- Models: {shape}, {pairs} pair(s), {start}, class-embedding heads ({Options.Recipe.EmbeddingDimension}-d, logits {Options.ResolvedRecipe().LogitScale:0.##}×cosine); {Options.Calibration} calibration images");
        sb.AppendLine($"- Training recipe: {Options.ResolvedRecipe().Describe()}");
        }
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"- ZipIt! α = {Hyperparameters.Alpha}, β = {Hyperparameters.Beta}, chosen on {Hyperparameters.SelectedOn}");
        sb.AppendLine();
        sb.AppendLine((OnePair ? "Accuracy in % of one pair" : "Accuracy in %, mean ± standard deviation over pairs,") + " on the test split. Joint: argmax over all classes of all tasks; Task X: argmax over that task's classes; Avg: mean of the task accuracies.");
        sb.AppendLine();
        sb.AppendLine(Legend());
        sb.AppendLine();
        sb.Append(ToMarkdown());
        if (Results.Any(r => r.AsTrained is not null))
        {
            sb.AppendLine();
            sb.AppendLine("## Base models as trained");
            sb.AppendLine();
            sb.AppendLine("The rows above reset every model's BatchNorm statistics on the calibration images, the base models' included (ZipIt! §5). As trained, without the reset:");
            sb.AppendLine();
            var letters = Tasks.Select((t, i) => $"Task {(char)('A' + i)}").ToList();
            sb.AppendLine(CultureInfo.InvariantCulture, $"| Method | Joint | {string.Join(" | ", letters)} | Avg |");
            sb.AppendLine($"| --- | ---: | {string.Join(" | ", letters.Select(_ => "---:"))} | ---: |");
            foreach (var r in Results)
                if (r.AsTrained is { } t)
                    sb.AppendLine(CultureInfo.InvariantCulture,
                        $"| {r.Label} | {Cell(t.Joint)} | {string.Join(" | ", Tasks.Select(task => Cell(t.Tasks[task.Name])))} | {Cell(t.Avg)} |");
        }
        if (Hyperparameters.Grid.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## α × β grid (ZipIt!, full zip, pair 0, validation joint accuracy %)");
            sb.AppendLine();
            var alphas = Hyperparameters.Grid.Select(g => g.Alpha).Distinct().Order().ToList();
            var betas = Hyperparameters.Grid.Select(g => g.Beta).Distinct().Order().ToList();
            sb.AppendLine($"| α \\ β | {string.Join(" | ", betas.Select(b => b.ToString(CultureInfo.InvariantCulture)))} |");
            sb.AppendLine($"| --- | {string.Join(" | ", betas.Select(_ => "---:"))} |");
            foreach (var a in alphas)
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {a} | {string.Join(" | ", betas.Select(b => Hyperparameters.Grid.First(g => g.Alpha == a && g.Beta == b).Joint.ToString("0.0", CultureInfo.InvariantCulture)))} |");
        }
        sb.AppendLine();
        sb.AppendLine("## Models");
        sb.AppendLine();
        sb.AppendLine("| Pair | Task | Seed | Validation accuracy | Training images/s | Checkpoint |");
        sb.AppendLine("| ---: | --- | ---: | ---: | ---: | --- |");
        foreach (var m in Pretrained.Concat(Models))
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {m.Pair} | {m.Task} | {m.Seed} | {m.ValidationAccuracy:0.0} | {(m.TrainImagesPerSecond is { } r ? r.ToString("0", CultureInfo.InvariantCulture) : "cached")} | {System.IO.Path.GetFileName(m.Path)} |");
        sb.AppendLine();
        sb.AppendLine("## Time (s)");
        sb.AppendLine();
        foreach (var (k, v) in Seconds) sb.AppendLine(CultureInfo.InvariantCulture, $"- {k}: {v:0.0}");
        foreach (var plot in Plots) sb.AppendLine().AppendLine($"![{plot}]({plot})");
        return sb.ToString();
    }
}
