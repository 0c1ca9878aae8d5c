using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Matching;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Merge;

/// <summary>
/// The merge, top to bottom: load → reset-BN of the base models → collect → match → zip → reset-BN
/// of the merged model → evaluate. <see cref="Run"/> reads as the list of steps; each step is also a
/// method of its own, which the single-stage commands and <c>reproduce</c> call, so the pipeline has
/// one owner. Hand-offs stay in memory (statistics, matches and the zipped model are objects that
/// own their tensors and are disposed on every path); every stage's seconds are recorded in
/// <see cref="Seconds"/>.
/// </summary>
internal sealed class MergePipeline(ModelLoader loader, PluginCatalog plugins, ILogger logger, Device device, ProgressDisplay progress,
    CancellationToken cancellation)
{
    private readonly Dictionary<string, double> _seconds = [];

    /// <summary>The memory a run may plan to use (<c>--max-memory</c>); null: what the machine has available.</summary>
    public long? MaxMemory { get; init; }

    /// <summary>Seconds per stage so far (<c>load</c>, <c>hash</c>, <c>resetBnBase</c>, <c>collect</c>, <c>match</c>, <c>zip</c>, <c>resetBnMerged</c>, <c>evaluate</c>).</summary>
    public IReadOnlyDictionary<string, double> Seconds => _seconds;

    /// <summary>
    /// The stages whose time is forward passes over the calibration data: two base BN resets,
    /// collection (both models) and the merged BN reset. <c>merge</c>'s floor.
    /// </summary>
    public static readonly string[] ForwardStages = ["resetBnBase", "collect", "resetBnMerged"];

    /// <summary>Runs the whole recipe. Every input and option is checked before the first forward pass.</summary>
    public MergeOutcome Run(MergeRecipe recipe)
    {
        var plan = MergePlan.Check(recipe, plugins);
        var models = Time("load", () => LoadModels(recipe.Models!, recipe.Arch));
        try
        {
            var hashes = Time("hash", () => models.Select(m => CheckpointHash.Sha256(m.Path)).ToList());
            var graph = models[0].Graph;
            var stop = StopPoint.Parse(recipe.Stop, graph, models[0].Config);
            using var data = recipe.Data is null ? null : TensorDataset.Load(recipe.Data, recipe.Images);
            using var test = plan.Evaluation is null ? null : TensorDataset.Load(plan.Evaluation.Data, labelsRequired: true);
            using var embeddings = plan.Evaluation?.EmbeddingsFile is { } e ? ClassEmbeddingsFile.Read(e) : null;
            // Every data file against what the models take, before the first forward pass.
            if (data is not null) ImageCheck.Require(models[0], data.Images, recipe.Data!);
            if (test is not null) ImageCheck.Require(models[0], test.Images, plan.Evaluation!.Data);
            if (data is null) logger.LogWarning("no calibration data: BatchNorm statistics are merged as they are, not reset");
            var collected = plan.Required.HasFlag(MatcherInputs.Activations) && data is not null ? Zipper.PointsUpTo(graph, stop) : [];
            MemoryEstimate.RequireAvailable(MergeMemory.For(models, data, test, collected, recipe.BatchSize!.Value, recipe.TapSets).Merge,
                $"merge of {models.Count} × {models[0].Config}", MaxMemory);

            if (recipe.ResetBn!.Value && data is not null)
                Time("resetBnBase", () => { foreach (var m in models) ResetBatchNorm(m, data, recipe.BatchSize!.Value); });

            var points = Zipper.PointsUpTo(graph, stop);
            using var statistics = plan.Required.HasFlag(MatcherInputs.Activations)
                ? Time("collect", () => Collect(models, points, data!, recipe.BatchSize!.Value, recipe.TapSets))
                : PointStatistics.None(models.Count);

            var merged = MergeFromStatistics(models, statistics, plan.Matcher, plan.Settings, stop, recipe.Seed!.Value,
                data, recipe.BatchSize!.Value, Path.GetFileName(recipe.Output!), Provenance(models, hashes, recipe, plan));
            try
            {
                // Evaluated as stored: a checkpoint written in f16 or bf16 is evaluated with weights rounded to that type.
                if (plan.DType != ScalarType.Float32) ModelWriter.RoundTo(merged, plan.DType);
                EvaluationResult? result = null;
                if (plan.Evaluation is { } evaluation)
                    result = Time("evaluate", () => Evaluate(Path.GetFileName(recipe.Output!), merged, test!, recipe.BatchSize!.Value,
                        evaluation.Tasks, evaluation.Head, embeddings));
                var sources = models.Select((m, i) => new MergeOutcome.Source(Path.GetFileName(m.Path), hashes[i], m.Metadata.GetValueOrDefault(MetadataKeys.Task))).ToList();
                return new MergeOutcome(merged, plan, StopPoint.Label(graph, stop), stop is not null, result, sources, models[0].Config,
                    data?.Count, test?.Count);
            }
            catch
            {
                merged.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
    }

    /// <summary>Loads the models to merge (one architecture and width, finite weights, not partial zips) on the pipeline's device.</summary>
    public List<LoadedModel> LoadModels(IReadOnlyList<string> paths, string? arch = null)
    {
        var models = loader.LoadAll(paths, device, arch);
        try
        {
            SingleHeadCheck.Require(models);
            foreach (var m in models) WeightCheck.RequireFinite(m);
            return models;
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary>Recomputes the BatchNorm statistics of <paramref name="model"/> (trunk and heads) on <paramref name="data"/>.</summary>
    public void ResetBatchNorm(LoadedModel model, TensorDataset data, int batchSize) =>
        progress.Over($"reset BN {Path.GetFileName(model.Path)}", data.Batches(batchSize).Select(b => b.Images), ProgressDisplay.Batches(data.Count, batchSize),
            batches => BatchNormReset.Run(model.Modules, batches, x => model.Forward(x), cancellation));

    /// <summary>The statistics of <paramref name="points"/> over <paramref name="data"/> (BatchNorm left as it is).</summary>
    public PointStatistics Collect(IReadOnlyList<LoadedModel> models, IReadOnlyList<FeatureSpace> points, TensorDataset data, int batchSize,
        IReadOnlyCollection<string>? tapSets = null) =>
        CollectStage.Run(models, points, data, batchSize, resetBn: false, cancellation, tapSets, progress);

    /// <summary>
    /// Match → zip → (in memory) model → BatchNorm reset on <paramref name="data"/> when given. The
    /// part of a merge that depends on the matcher: <c>reproduce</c> runs it once per method on one
    /// pair's statistics. The caller owns the returned model.
    /// </summary>
    public LoadedModel MergeFromStatistics(IReadOnlyList<LoadedModel> models, PointStatistics statistics, IMatcher matcher, MatcherSettings settings,
        int? stop, long seed, TensorDataset? data, int batchSize, string name, IReadOnlyDictionary<string, string> metadata)
    {
        var graph = models[0].Graph;
        var points = Zipper.PointsUpTo(graph, stop);
        var required = MatchStage.RequiredInputs(matcher, settings);
        // Matching and zipping run on the CPU (a sequential greedy; a few small products per layer).
        var states = models.Select(m => m.CpuState()).ToList();
        using var matches = Time("match", () => MatchStage.Run(matcher, settings, MatchStage.Points(points, statistics), models.Count, graph,
            required.HasFlag(MatcherInputs.Weights) ? states : null, seed, logger, cancellation, data is null ? "the models" : Path.GetFileName(data.Path)));
        var merged = Time("zip", () =>
        {
            using var zipped = Zipper.Zip(states, graph, matches, stop, new ZipOptions());
            var tasks = models.Select(m => m.Metadata.GetValueOrDefault(MetadataKeys.Task) ?? Path.GetFileNameWithoutExtension(m.Path)).ToList();
            return ModelLoader.FromZipped(zipped, models[0], name, ZippedCheckpoint.Metadata(zipped, models[0].Config, graph, tasks, metadata), device);
        });
        try
        {
            if (data is not null) Time("resetBnMerged", () => ResetBatchNorm(merged, data, batchSize));
            return merged;
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }

    /// <summary>Per-task, joint and average accuracy of <paramref name="model"/> (and its FLOPs).</summary>
    public EvaluationResult Evaluate(string label, LoadedModel model, TensorDataset test, int batchSize,
        IReadOnlyList<EvaluationTask> tasks, HeadKind head, Tensor? embeddings) =>
        EvaluationStage.Run(label, [model], test, batchSize, tasks, head, embeddings, x => model.Forward(x), cancellation, out _, progress) with { Models = [label] };

    /// <summary>How the merged checkpoint says it was made.</summary>
    private static Dictionary<string, string> Provenance(IReadOnlyList<LoadedModel> models, IReadOnlyList<string> hashes, MergeRecipe recipe, MergePlan plan) => new()
    {
        [MetadataKeys.Sources] = JsonSerializer.Serialize(models.Select(m => Path.GetFileName(m.Path))),
        [MetadataKeys.SourceHashes] = JsonSerializer.Serialize(hashes.Select(h => "sha256:" + h)),
        [MetadataKeys.Recipe] = JsonSerializer.Serialize(recipe, new JsonSerializerOptions(Json.Options) { WriteIndented = false }),
        [MetadataKeys.Matcher] = plan.Matcher.Name,
        [MetadataKeys.MatcherSettings] = JsonSerializer.Serialize(plan.Settings.Effective),
    };

    private T Time<T>(string stage, Func<T> step)
    {
        var clock = Stopwatch.StartNew();
        try { return step(); }
        finally { _seconds[stage] = _seconds.GetValueOrDefault(stage) + clock.Elapsed.TotalSeconds; }
    }

    private void Time(string stage, Action step) => Time(stage, () => { step(); return 0; });
}

/// <summary>
/// What <see cref="MergePipeline.Run"/> produced, and what the model card says of it: the plan it
/// followed, the stop point, the sources (file name, SHA-256, task), the images calibrated on and
/// evaluated on. The caller owns <see cref="Merged"/>.
/// </summary>
internal sealed record MergeOutcome(LoadedModel Merged, MergePlan Plan, string StopLabel, bool Partial, EvaluationResult? Evaluation,
    IReadOnlyList<MergeOutcome.Source> Sources, ArchitectureConfig Config, long? CalibrationImages, long? EvaluationImages)
{
    /// <summary>One merged model: its file name, the SHA-256 of its checkpoint (<see cref="CheckpointHash"/>) and the task it records, if any.</summary>
    public sealed record Source(string File, string Sha256, string? Task);

    public IMatcher Matcher => Plan.Matcher;
    public MatcherSettings Settings => Plan.Settings;
}
