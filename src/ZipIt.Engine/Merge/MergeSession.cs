using System.Text.Json;
using Microsoft.Extensions.Logging;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Refit;
using ZipIt.Engine.Repair;
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Merge;

/// <summary>
/// The one owner of a merge: the loaded models, the calibration images and every stage over them
/// (<see cref="ResetBn"/>, <see cref="Statistics"/>, <see cref="Match(IMatcher, MatcherSettings, int?, long, int, IReadOnlyCollection{string}?)"/>,
/// <see cref="Zip"/>, <see cref="Merge(MergeMethod)"/>, <see cref="Evaluate"/>), timed by one
/// <see cref="StageClock"/>. Opening runs every load check once, before any forward pass: one
/// configuration and one head per model (when merging), finite weights, images of the shape the
/// models take. Statistics are collected once per tap-set choice and shared by every later match
/// (<c>reproduce</c> merges one pair with every method from one collection). Every command drives
/// the engine through a session, so a new stage added here reaches all of them.
/// </summary>
internal sealed class MergeSession : IDisposable
{
    private readonly EngineContext _engine;
    private readonly bool _ownsCalibration;
    private readonly Dictionary<string, PointStatistics> _statistics = [];
    private IReadOnlyList<string>? _fingerprints;
    private IReadOnlyList<string>? _hashes;
    private bool _reset;

    private MergeSession(EngineContext engine, List<LoadedModel> models, TensorDataset? calibration, bool ownsCalibration, StageClock clock,
        ModelPreprocessing.Agreement preprocessing)
    {
        _engine = engine;
        Models = models;
        Calibration = calibration;
        _ownsCalibration = ownsCalibration;
        Clock = clock;
        _preprocessing = preprocessing;
    }

    private readonly ModelPreprocessing.Agreement _preprocessing;

    /// <summary>How the models take their images (theirs, or <c>--preprocess</c>); null when unknown or when they disagree. A merged model records it.</summary>
    public Preprocessing? Preprocessing => _preprocessing.Value;

    public IReadOnlyList<LoadedModel> Models { get; }

    /// <summary>The images statistics are collected on and BatchNorm is reset on; null for data-free work.</summary>
    public TensorDataset? Calibration { get; }

    public StageClock Clock { get; }

    /// <summary>The models' merge graph (the first model's: a merge session's models share one configuration).</summary>
    public MergeGraph Graph => Models[0].Graph;

    public ArchitectureConfig Config => Models[0].Config;

    /// <summary>The merge points a zip up to <paramref name="stop"/> (null: a full zip) merges, in graph order.</summary>
    public IReadOnlyList<FeatureSpace> PointsUpTo(int? stop) => Zipper.PointsUpTo(Graph, stop);

    /// <summary>
    /// Opens the models (and the calibration images) and checks them. With <see cref="SessionInputs.Merging"/>
    /// the models must share one configuration and have one head each.
    /// </summary>
    public static MergeSession Open(EngineContext engine, SessionInputs inputs, StageClock? clock = null)
    {
        clock ??= new StageClock();
        var models = clock.Time("load", () => Load(engine, inputs));
        TensorDataset? data = null;
        try
        {
            var source = inputs.Calibration is null && inputs.Data is { } text ? DataSource.Parse(text, inputs.DataOption) : null;
            var preprocessing = ModelPreprocessing.Agree(models, inputs.Preprocess, SessionInputs.PreprocessOption);
            if (preprocessing.Conflict is { } conflict)
            {
                if (source?.NeedsPreprocessing == true) throw ZipItException.Input($"{inputs.DataOption} {source}: {conflict}; pass {SessionInputs.PreprocessOption} to choose");
                if (inputs.Merging) engine.Logger.LogWarning("{Conflict}; the merged model records no preprocessing", conflict);
            }
            data = inputs.Calibration ?? (source is null ? null : clock.Time("data", () => source.Load(new DataRequest(inputs.DataOption)
            {
                Preprocessing = preprocessing.Value,
                WhyNoPreprocessing = preprocessing.Why,
                Images = inputs.Images,
                Seed = inputs.Seed,
                Cancellation = engine.Cancellation,
            })));
            if (source is { NeedsPreprocessing: true } && data is not null)
                engine.Logger.LogInformation("{Option} {Source}: {Count} images, preprocessed as {From} says: {Value}", inputs.DataOption, source, data.Count,
                    preprocessing.Why, preprocessing.Value);
            if (data is not null)
                foreach (var m in models) ImageCheck.Require(m, data.Images, inputs.Data ?? data.Path);
            return new MergeSession(engine, models, data, ownsCalibration: inputs.Calibration is null, clock, preprocessing);
        }
        catch
        {
            if (inputs.Calibration is null) data?.Dispose();
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Labelled (when <paramref name="labelsRequired"/>) images from <paramref name="text"/> (a
    /// tensor file, a dataset spec or an image folder, see <see cref="DataSource"/>) that every model
    /// of the session takes; a dataset spec naming no split reads <paramref name="defaultSplit"/>.
    /// The caller owns them.
    /// </summary>
    public TensorDataset LoadData(string text, string option, DataSplit defaultSplit, bool labelsRequired, long? images = null, long seed = 0)
    {
        var source = DataSource.Parse(text, option);
        if (source.NeedsPreprocessing && _preprocessing.Conflict is { } conflict)
            throw ZipItException.Input($"{option} {source}: {conflict}; pass {SessionInputs.PreprocessOption} to choose");
        var data = Clock.Time("data", () => source.Load(new DataRequest(option)
        {
            Preprocessing = Preprocessing,
            WhyNoPreprocessing = _preprocessing.Why,
            Images = images,
            Seed = seed,
            DefaultSplit = defaultSplit,
            LabelsRequired = labelsRequired,
            Cancellation = _engine.Cancellation,
        }));
        try
        {
            RequireImages(data, text);
            return data;
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    private static List<LoadedModel> Load(EngineContext engine, SessionInputs inputs)
    {
        var models = new List<LoadedModel>();
        try
        {
            var hints = inputs.ArchSettings is { Count: > 0 } given ? given : null;
            if (inputs.Merging) models.AddRange(engine.Loader.LoadAll(inputs.Models, engine.Device, inputs.Arch, hints));
            else
                foreach (var path in inputs.Models) models.Add(engine.Loader.Load(path, engine.Device, inputs.Arch, hints));
            if (inputs.Merging) SingleHeadCheck.Require(models);
            foreach (var m in models) WeightCheck.RequireFinite(m);
            return models;
        }
        catch
        {
            foreach (var m in models) m.Dispose();
            throw;
        }
    }

    /// <summary>Each model's fingerprint as opened (before any BatchNorm reset changed it): what metrics and matches files record.</summary>
    public IReadOnlyList<string> Fingerprints => _fingerprints ??= _reset
        ? throw new InvalidOperationException("the fingerprints are those of the models as opened: ask for them before a BatchNorm reset")
        : Models.Select(ModelFingerprint.Of).ToList();

    /// <summary>The SHA-256 of each model's checkpoint file (what a merged model's provenance records).</summary>
    public IReadOnlyList<string> FileHashes => _hashes ??= Clock.Time("hash", () => Models.Select(m => CheckpointHash.Sha256(m.Path)).ToList());

    /// <summary>Exit 3 naming <paramref name="file"/> unless every model takes images of its shape.</summary>
    public void RequireImages(TensorDataset set, string file)
    {
        foreach (var m in Models) ImageCheck.Require(m, set.Images, file);
    }

    /// <summary>Exit 2 unless the models declare every tap set named (before any forward pass).</summary>
    public void RequireTapSets(IReadOnlyCollection<string>? tapSets) => CollectStage.RequireTapSets(Graph.Spaces, tapSets, Config);

    /// <summary>Exit 5 unless the work fits the memory the run may use: collection only, or a whole merge.</summary>
    /// <param name="refit">The refit after the zip, if any, zipped up to <paramref name="stop"/>: its moments and captures count too.</param>
    public void RequireMemory(string what, IReadOnlyList<FeatureSpace> collected, int batchSize, IReadOnlyCollection<string>? tapSets,
        TensorDataset? test = null, bool collectOnly = false, RefitOptions? refit = null, int? stop = null)
    {
        var estimate = MergeMemory.For(Models, Calibration, test, collected, batchSize, tapSets);
        if (refit is not null && Calibration is { } data)
            estimate = estimate with
            {
                RefitBytes = RefitMemory.Bytes(Models[0].Model, Models[0].Device, Graph, stop, data.Images.shape[1..], (int)Math.Min(batchSize, Math.Max(1, data.Count)), refit.Variant),
                RefitModels = Models.Count + (refit.Variant == RefitVariant.Sequential ? 1 : 0),
            };
        MemoryEstimate.RequireAvailable(collectOnly ? estimate.Collect : estimate.Merge, what, _engine.MaxMemory);
    }

    /// <summary>Recomputes every model's BatchNorm statistics (trunk and heads) on the calibration images.</summary>
    public void ResetBn(int batchSize)
    {
        _reset = true;
        Clock.Time("resetBnBase", () => { foreach (var m in Models) ResetBatchNorm(m, RequireCalibration("a BatchNorm reset"), batchSize); });
    }

    /// <summary>Recomputes <paramref name="model"/>'s BatchNorm statistics on <paramref name="data"/>; returns the batches run.</summary>
    public int ResetBatchNorm(LoadedModel model, TensorDataset data, int batchSize)
    {
        if (Models.Contains(model)) _reset = true;
        return _engine.Progress.Over($"reset BN {model.Name}", data.Batches(batchSize).Select(b => b.Images), ProgressDisplay.Batches(data.Count, batchSize),
            batches => BatchNormReset.Run(model.Modules, batches, x => model.Forward(x), _engine.Cancellation));
    }

    /// <summary>
    /// The statistics of <paramref name="points"/> over the calibration images (BatchNorm as it is
    /// now), collected on first use and shared by every later call with the same tap sets that
    /// asks for no new point. Owned by the session.
    /// </summary>
    public PointStatistics Statistics(IReadOnlyList<FeatureSpace> points, int batchSize, IReadOnlyCollection<string>? tapSets = null)
    {
        var key = TapSetKey(tapSets);
        if (_statistics.TryGetValue(key, out var known) && points.All(p => known.Contains(p.Name))) return known;
        var data = RequireCalibration("collecting statistics");
        RequireTapSets(tapSets);
        var collected = Clock.Time("collect", () => CollectStage.Run(Models, points, data, batchSize, _engine.Cancellation, tapSets, _engine.Progress));
        if (_statistics.Remove(key, out var old)) old.Dispose();
        _statistics[key] = collected;
        return collected;
    }

    /// <summary>Statistics read from a file (<c>match</c>), used as if collected here; the session owns them.</summary>
    public PointStatistics UseStatistics(PointStatistics statistics, IReadOnlyCollection<string>? tapSets = null)
    {
        if (_statistics.Remove(TapSetKey(tapSets), out var old)) old.Dispose();
        _statistics[TapSetKey(tapSets)] = statistics;
        return statistics;
    }

    /// <summary>The matches of every point up to <paramref name="stop"/>, from this session's statistics and (when the matcher asks) weights. The caller owns them.</summary>
    public MatchSet Match(IMatcher matcher, MatcherSettings settings, int? stop, long seed, int batchSize, IReadOnlyCollection<string>? tapSets = null)
    {
        var points = Zipper.PointsUpTo(Graph, stop);
        var required = MatchStage.RequiredInputs(matcher, settings);
        var statistics = required.HasFlag(MatcherInputs.Activations) ? Statistics(points, batchSize, tapSets) : PointStatistics.None(Models.Count);
        using var _ = required.HasFlag(MatcherInputs.Activations) ? null : statistics;
        return Match(matcher, settings, MatchStage.Points(points, statistics), Models.Count, Graph, seed,
            Calibration is null ? "the models" : Path.GetFileName(Calibration.Path));
    }

    /// <summary>
    /// The matches of <paramref name="points"/> (statistics of <paramref name="models"/> models,
    /// possibly read from a file); the session's models' weights go to matchers that ask for them.
    /// </summary>
    public MatchSet Match(IMatcher matcher, MatcherSettings settings, IReadOnlyList<MatchPoint> points, int models, MergeGraph? graph, long seed, string source)
    {
        var required = MatchStage.RequiredInputs(matcher, settings);
        // Matching and zipping run on the CPU (a sequential greedy; a few small products per layer).
        var weights = required.HasFlag(MatcherInputs.Weights) && Models.Count > 0 ? Models.Select(m => m.CpuState()).ToList() : null;
        return Clock.Time("match", () => MatchStage.Run(matcher, settings, points, models, graph, weights, seed, _engine.Logger, _engine.Cancellation, source));
    }

    /// <summary>The models zipped by <paramref name="matches"/> up to <paramref name="stop"/> (weights on the CPU). The caller owns the result.</summary>
    public ZippedModel Zip(MatchSet matches, int? stop, ZipOptions options) =>
        Clock.Time("zip", () => Zipper.Zip(Models.Select(m => m.CpuState()).ToList(), Graph, matches, stop, options));

    /// <summary>
    /// Another model to work on beside the session's (a merged model to refit), loaded and checked as
    /// the session's are (finite weights, images that fit), on the session's device. The caller owns it.
    /// </summary>
    public LoadedModel OpenModel(string path, string? arch = null)
    {
        var model = Clock.Time("load", () => _engine.Loader.Load(path, _engine.Device, arch));
        try
        {
            WeightCheck.RequireFinite(model);
            if (Calibration is not null) ImageCheck.Require(model, Calibration.Images, Calibration.Path);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>Exit 3 unless <paramref name="merged"/> can be refit from this session's models with <paramref name="matches"/> (before any forward pass).</summary>
    public void RequireRefit(LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches) => RefitStage.RequireFit(Models, merged, matches);

    /// <summary>
    /// Refits <paramref name="merged"/> (zipped from this session's models by <paramref name="matches"/>)
    /// on the calibration images, in place: <see cref="RefitStage"/>. Its BatchNorm statistics are
    /// then stale; reset them next.
    /// </summary>
    public RefitReport Refit(LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches, int batchSize, RefitOptions options) =>
        Clock.Time("refit", () => RefitStage.Run(Models, merged, matches, RequireCalibration("a refit"), batchSize, options, _engine.Cancellation, _engine.Progress,
            _engine.Logger, _engine.MaxMemory));

    /// <summary>
    /// Match → zip → (in memory) model → refit when asked → REPAIR when asked → BatchNorm reset on the calibration
    /// images when there are any. What one table row of <c>reproduce</c> costs, and the heart of
    /// <c>merge</c>. The caller owns the returned model.
    /// </summary>
    public LoadedModel Merge(MergeMethod method)
    {
        using var matches = Match(method.Matcher, method.Settings, method.Stop, method.Seed, method.BatchSize, method.TapSets);
        var merged = Clock.Time("zip", () =>
        {
            using var zipped = Zipper.Zip(Models.Select(m => m.CpuState()).ToList(), Graph, matches, method.Stop, method.Zip);
            var tasks = Models.Select(m => m.Metadata.GetValueOrDefault(MetadataKeys.Task) ?? Path.GetFileNameWithoutExtension(m.Path)).ToList();
            return ModelLoader.FromZipped(zipped, Models[0], method.Name, ZippedCheckpoint.Metadata(zipped, Config, Graph, tasks, method.Metadata), _engine.Device);
        });
        try
        {
            // The refit solves for pre-BatchNorm outputs; the reset that follows then fits the statistics to the refit weights.
            if (method.Refit is { } refit) Refit(merged, matches, method.BatchSize, refit);
            if (method.Repair) Repair(merged, matches, method.BatchSize);
            if (Calibration is not null) Clock.Time("resetBnMerged", () => ResetBatchNorm(merged, Calibration, method.BatchSize));
            return merged;
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }

    /// <summary>
    /// REPAIR of <paramref name="merged"/> (zipped from this session's models by <paramref name="matches"/>)
    /// on the calibration images, in place: <see cref="RepairStage"/>. Units normalised by a BatchNorm
    /// are left to the BatchNorm reset that follows.
    /// </summary>
    public RepairReport Repair(LoadedModel merged, IReadOnlyDictionary<string, MatchResult> matches, int batchSize) =>
        Clock.Time("repair", () => RepairStage.Run(Models, merged, matches, RequireCalibration("a repair"), batchSize, _engine.Cancellation, _engine.Progress,
            _engine.Logger));

    /// <summary>Per-task, joint and average accuracy of <paramref name="model"/> (and its FLOPs).</summary>
    public EvaluationResult Evaluate(string label, LoadedModel model, TensorDataset test, int batchSize, IReadOnlyList<EvaluationTask> tasks, HeadKind head,
        Tensor? embeddings) => Evaluate(label, model, test, batchSize, tasks, head, embeddings, out _);

    /// <summary><see cref="Evaluate(string, LoadedModel, TensorDataset, int, IReadOnlyList{EvaluationTask}, HeadKind, Tensor?)"/>, with the images counted per task.</summary>
    public EvaluationResult Evaluate(string label, LoadedModel model, TensorDataset test, int batchSize, IReadOnlyList<EvaluationTask> tasks, HeadKind head,
        Tensor? embeddings, out Dictionary<string, long> counts)
    {
        Dictionary<string, long> counted = [];
        var result = Clock.Time("evaluate", () => EvaluationStage.Run(label, [model], test, batchSize, tasks, head, embeddings, x => model.Forward(x), _engine.Cancellation,
            out counted, _engine.Progress));
        counts = counted;
        return result;
    }

    /// <summary>The ensemble of the session's single-head models (model i answers task i).</summary>
    public EvaluationResult EvaluateEnsemble(string label, TensorDataset test, int batchSize, IReadOnlyList<EvaluationTask> tasks, HeadKind head, Tensor? embeddings,
        out Dictionary<string, long> counts)
    {
        Dictionary<string, long> counted = [];
        var result = Clock.Time("evaluate", () => EvaluationStage.Run(label, Models, test, batchSize, tasks, head, embeddings,
            x => Models.Select(m => m.Forward(x)[0]).ToList(), _engine.Cancellation, out counted, _engine.Progress));
        counts = counted;
        return result;
    }

    /// <summary>Each of the session's models and their ensemble (model i answers task i), from one pass over <paramref name="test"/>.</summary>
    public IReadOnlyList<EvaluationResult> EvaluateEachAndEnsemble(IReadOnlyList<string> labels, string ensembleLabel, TensorDataset test, int batchSize,
        IReadOnlyList<EvaluationTask> tasks, HeadKind head, Tensor? embeddings) =>
        Clock.Time("evaluate", () => EvaluationStage.RunEachAndEnsemble(labels, ensembleLabel, Models, test, batchSize, tasks, head, embeddings, _engine.Cancellation,
            out _, _engine.Progress));

    /// <summary>
    /// The whole merge of <paramref name="spec"/> (whose models and data this session opened):
    /// reset-BN of the base models → collect → match → zip → REPAIR (when asked) → reset-BN of the merged model →
    /// evaluate. Every input is checked before the first forward pass. The caller owns the outcome's model.
    /// </summary>
    public MergeOutcome Run(MergeSpec spec)
    {
        var hashes = FileHashes;
        var stop = StopPoint.Parse(spec.Stop, Graph, Config);
        using var test = spec.Evaluation is null ? null : LoadData(spec.Evaluation.Data, SessionInputs.EvalDataOption, DataSplit.Test, labelsRequired: true);
        var heads = spec.Evaluation is { } plan
            ? ModelHeads.Resolve(Models, plan.Head, plan.EmbeddingsFile, plan.Tasks, "--head", "--class-embeddings")
            : null;
        using var embeddings = heads?.Embeddings;
        if (spec.Evaluation is { } asked && heads is not null) spec = spec with { Evaluation = asked with { Head = heads.Head } };
        if (Calibration is null) _engine.Logger.LogWarning("no calibration data: BatchNorm statistics are merged as they are, not reset");
        var collected = spec.Required.HasFlag(MatcherInputs.Activations) && Calibration is not null ? Zipper.PointsUpTo(Graph, stop) : [];
        if (collected.Count > 0) RequireTapSets(spec.TapSets);
        RequireMemory($"merge of {Models.Count} × {Config}{(spec.Refit is not null ? " with a refit" : "")}", collected, spec.BatchSize, spec.TapSets, test,
            refit: spec.Refit, stop: stop);

        if (spec.ResetBn && Calibration is not null) ResetBn(spec.BatchSize);
        var name = Path.GetFileName(spec.Output);
        var merged = Merge(new MergeMethod(spec.Matcher, spec.Settings, stop, spec.Seed, spec.BatchSize, name, Provenance(hashes, spec))
        {
            TapSets = spec.TapSets,
            Zip = spec.Zip,
            Refit = spec.Refit,
            Repair = spec.Repair,
        });
        try
        {
            // Evaluated as stored: a checkpoint written in f16 or bf16 is evaluated with weights rounded to that type.
            if (spec.DType != ScalarType.Float32) ModelWriter.RoundTo(merged, spec.DType);
            var result = spec.Evaluation is { } evaluation
                ? Evaluate(name, merged, test!, spec.BatchSize, evaluation.Tasks, evaluation.Head!.Value, embeddings) with { Models = [name] }
                : null;
            var sources = Models.Select((m, i) => new MergeOutcome.Source(m.Name, hashes[i], m.Metadata.GetValueOrDefault(MetadataKeys.Task))).ToList();
            return new MergeOutcome(merged, spec, StopPoint.Label(Graph, stop), stop is not null, result, sources, Config, Calibration?.Count, test?.Count);
        }
        catch
        {
            merged.Dispose();
            throw;
        }
    }

    /// <summary>How the merged checkpoint says it was made.</summary>
    private Dictionary<string, string> Provenance(IReadOnlyList<string> hashes, MergeSpec spec)
    {
        var metadata = new Dictionary<string, string>
        {
            [MetadataKeys.Sources] = JsonSerializer.Serialize(Models.Select(m => m.Name)),
            [MetadataKeys.SourceHashes] = JsonSerializer.Serialize(hashes.Select(h => "sha256:" + h)),
            // The recipe written beside it: paths relative to its folder, so that the same merge of files
            // moved together, run from anywhere, writes the same bytes.
            [MetadataKeys.Recipe] = spec.Recipe.Portable(spec.Output).ToJson(indented: false),
            [MetadataKeys.Matcher] = spec.Matcher.Name,
            [MetadataKeys.MatcherSettings] = JsonSerializer.Serialize(spec.Settings.Effective),
        };
        foreach (var (k, v) in Inherited()) metadata[k] = v;
        return metadata;
    }

    /// <summary>
    /// What a merged model takes over from its sources, so that it is evaluated and fed as they
    /// are: the shared preprocessing, and the head kind and class-embedding spec where every
    /// source records the same.
    /// </summary>
    public Dictionary<string, string> Inherited()
    {
        var metadata = new Dictionary<string, string>();
        if (Preprocessing is { } p) metadata[MetadataKeys.Preprocess] = p.ToJson();
        foreach (var key in new[] { MetadataKeys.Head, MetadataKeys.Embedding })
        {
            var values = Models.Select(m => m.Metadata.GetValueOrDefault(key)).Distinct().ToList();
            if (values is [{ } shared]) metadata[key] = shared;
        }
        // The union of the sources' classes: what a clip head's class-name vectors are made from.
        var names = ModelHeads.ClassNames(Models);
        if (names.Count > 0)
        {
            metadata[MetadataKeys.Classes] = JsonSerializer.Serialize(names.Keys);
            metadata[MetadataKeys.ClassNames] = JsonSerializer.Serialize(names.Values);
        }
        return metadata;
    }

    private TensorDataset RequireCalibration(string what) =>
        Calibration ?? throw new InvalidOperationException($"{what} needs calibration images, and this session was opened without any");

    private static string TapSetKey(IReadOnlyCollection<string>? tapSets) => string.Join(",", (tapSets ?? []).Order(StringComparer.Ordinal));

    public void Dispose()
    {
        foreach (var s in _statistics.Values) s.Dispose();
        _statistics.Clear();
        if (_ownsCalibration) Calibration?.Dispose();
        foreach (var m in Models) m.Dispose();
    }
}

/// <summary>What a session opens: the checkpoints, and the calibration images from a file or already in memory.</summary>
internal sealed record SessionInputs(IReadOnlyList<string> Models)
{
    /// <summary>An architecture or variant name every model must be (null: recognised from the files).</summary>
    public string? Arch { get; init; }

    /// <summary>Architecture settings the checkpoints do not record (<c>heads</c>); null or empty: the host's (<c>--arch-set</c>).</summary>
    public IReadOnlyDictionary<string, string>? ArchSettings { get; init; }

    /// <summary>Calibration images to read: a tensor file, a dataset spec or an image folder (<see cref="DataSource"/>), at most <see cref="Images"/> of them.</summary>
    public string? Data { get; init; }

    public long? Images { get; init; }

    /// <summary>Calibration images already in memory (<c>reproduce</c>'s); the caller keeps them.</summary>
    public TensorDataset? Calibration { get; init; }

    /// <summary>
    /// Models to merge (one configuration, one head each; the default), or models worked on one by
    /// one (evaluate, reset-bn, predict: any configurations, partial zips' heads allowed).
    /// </summary>
    public bool Merging { get; init; } = true;

    /// <summary><c>--preprocess</c> items (a preset, KEY=VALUE) over the models' own preprocessing.</summary>
    public IReadOnlyList<string>? Preprocess { get; init; }

    /// <summary>The seed of a class-balanced draw of <see cref="Images"/> images from a dataset or folder.</summary>
    public long Seed { get; init; }

    /// <summary>The option that named <see cref="Data"/>, for messages.</summary>
    public string DataOption { get; init; } = "--data";

    public const string PreprocessOption = "--preprocess";
    public const string EvalDataOption = "--eval-data";
}

/// <summary>How one merged model is made from a session's models: one row of a results table.</summary>
/// <param name="Stop">The last merged stage (null: a full zip).</param>
/// <param name="Name">The merged model's name (its file name, or a table row's label).</param>
/// <param name="Metadata">What the merged model records of how it was made.</param>
internal sealed record MergeMethod(IMatcher Matcher, MatcherSettings Settings, int? Stop, long Seed, int BatchSize, string Name,
    IReadOnlyDictionary<string, string> Metadata)
{
    public IReadOnlyCollection<string>? TapSets { get; init; }
    public ZipOptions Zip { get; init; } = new();

    /// <summary>A least-squares refit after the zip, before the BatchNorm reset; null: none.</summary>
    public RefitOptions? Refit { get; init; }
    /// <summary>REPAIR after the zip, before the BatchNorm reset.</summary>
    public bool Repair { get; init; }
}

/// <summary>
/// What <see cref="MergeSession.Run"/> produced, and what the model card says of it: the spec it
/// followed, the stop point, the sources (file name, SHA-256, task), the images calibrated on and
/// evaluated on. The caller owns <see cref="Merged"/>.
/// </summary>
internal sealed record MergeOutcome(LoadedModel Merged, MergeSpec Spec, string StopLabel, bool Partial, EvaluationResult? Evaluation,
    IReadOnlyList<MergeOutcome.Source> Sources, ArchitectureConfig Config, long? CalibrationImages, long? EvaluationImages)
{
    /// <summary>One merged model: its file name, the SHA-256 of its checkpoint (<see cref="CheckpointHash"/>) and the task it records, if any.</summary>
    public sealed record Source(string File, string Sha256, string? Task);

    public IMatcher Matcher => Spec.Matcher;
    public MatcherSettings Settings => Spec.Settings;
}
