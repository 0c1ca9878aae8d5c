using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Matching;
using ZipIt.Engine.Collect;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Matching;
using ZipIt.Engine.Merge;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Refit;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Train;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Reproduce;

/// <summary>
/// The paper's protocol (ZipIt! §7): train (or reuse) one model per task for each pair, each from its
/// own seed; choose ZipIt!'s α and β on the validation split with pair 0; then, for every pair,
/// evaluate the base models, their ensemble and every merge method on the test split. Statistics are
/// collected once per pair and shared by all methods (they depend only on the base models and the
/// calibration images); each merged model gets its BatchNorm statistics reset on those images.
/// </summary>
internal sealed class ReproduceRun(EngineContext engine, Action<string> status)
{
    private readonly PluginCatalog plugins = engine.Plugins;
    private readonly Device device = engine.Device;
    private readonly ILogger logger = engine.Logger;
    private readonly ProgressDisplay progress = engine.Progress;
    private readonly CancellationToken cancellation = engine.Cancellation;

    private const int ImageSize = 32;

    /// <summary>A row of the table: how a merged (or unmerged) model is made.</summary>
    private sealed record Method(string Name, string Label, IMatcher? Matcher, Dictionary<string, string> Settings, string? Stop)
    {
        /// <summary>A least-squares refit after the zip (a <c>+ refit</c> row).</summary>
        public RefitOptions? Refit { get; init; }
        /// <summary>REPAIR after the zip (a <c>+ repair</c> row).</summary>
        public bool Repair { get; init; }
    }

    /// <param name="o">The experiment.</param>
    /// <param name="outputFolder">Where the report goes.</param>
    /// <param name="maxMemory">The memory the run may plan to use (<c>--max-memory</c>); null: what the machine has available.</param>
    public ReproduceReport Run(ReproduceOptions o, string outputFolder, long? maxMemory = null)
    {
        Validate(o);
        // A shape the plugin refuses (heads not dividing the width, ...) is a usage error now, not after the data is read.
        var (architecture, config) = plugins.Configure(o.Variant, o.ModelSettings());
        // The partial zips: the stop points nearest the protocol's fractions of the model's depth.
        o = o with { Stops = ReproduceOptions.StopsOf(architecture.Describe(config), (o.Protocol ?? new ExperimentProtocol { Variant = o.Variant }).StopFractions) };
        var setting = ReproduceSetting.Find(o.Setting);
        var seconds = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string stage)
        {
            seconds[stage] = seconds.GetValueOrDefault(stage) + clock.Elapsed.TotalSeconds;
            clock.Restart();
        }

        // An α or β that some method refuses is a usage error now, not after an hour of training.
        var zipitMatcher = plugins.Matcher(ZipItMatcher.MatcherName);
        foreach (var a in o.Alphas)
            foreach (var b in o.Betas)
                foreach (var method in Methods(o, a, b, "20/20", tiedHeads: true))
                    MatchStage.RequiredInputs(method.Matcher!, MatchStage.Settings(method.Matcher!, method.Settings));
        // Given models are checked before the data are read: a wrong file is one line at once.
        var givenPair = o.Models is { } given ? GivenModels.Pair(given, setting) : null;
        status($"{setting.Name}: {setting.Description}");
        // Given models are scored against the embeddings they were trained with, whatever the recipe says.
        var embeddingDimension = o.Models is { } givenPaths ? GivenModels.EmbeddingDimension(givenPaths, o.Recipe.EmbeddingDimension) : o.Recipe.EmbeddingDimension;
        using var data = ProtocolData.Build(setting.Tasks, o.Calibration, o.ValidationImages, o.TestImages, embeddingDimension, ImageSize, o.Seed);
        Lap("data");
        RequireMemory(o, setting, data, maxMemory);

        var (models, pretrained) = givenPair is not null ? ([givenPair], []) : TrainModels(o, setting, maxMemory);
        Lap("train");
        // "train" is every model this run trained; pretraining of the shared starts is its own phase.
        var pretrainSeconds = pretrained.Sum(m => m.Seconds ?? 0);
        if (pretrainSeconds > 0)
        {
            seconds["pretrain"] = pretrainSeconds;
            seconds["train"] -= pretrainSeconds;
        }

        var baseLabels = setting.Tasks.Select((_, i) => $"Model {(char)('A' + i)}").ToList();
        var perMethod = baseLabels.Append("Ensemble").ToDictionary(l => l, _ => new List<EvaluationResult>());
        var asTrained = baseLabels.Append("Ensemble").ToDictionary(l => l, _ => new List<EvaluationResult>());
        double alpha = 0, beta = 0;
        var grid = new List<ReproduceReport.GridCell>();
        var methods = new List<Method>();
        for (var p = 0; p < models.Count; p++)
        {
            status($"pair {p + 1}/{models.Count}: evaluating the base models and their ensemble");
            using var session = MergeSession.Open(engine, new SessionInputs(models[p].Select(m => m.Path).ToList()) { Calibration = data.Calibration });
            var loaded = session.Models;
            // ZipIt! §5 resets the BatchNorm statistics of every method's model, the base models' included:
            // their rows are measured after the reset on the calibration images that collection
            // does anyway. The models as trained are measured first and reported beside them.
            var hasBatchNorm = loaded.Any(m => m.Modules.Any(module => BatchNormReset.Layers(module).Count > 0));
            var trained = hasBatchNorm ? EvaluateBases(baseLabels, session, data, o) : null;
            Lap("evaluate");
            // One collection per pair, at every merge point: every method and stop point, and pair 0's grid search, match on it.
            session.ResetBn(o.EvalBatchSize);
            session.Statistics(Zipper.PointsUpTo(session.Graph, null), o.EvalBatchSize, o.TapSets?.ToList());
            Lap("collect");
            var reset = EvaluateBases(baseLabels, session, data, o);
            for (var i = 0; i <= loaded.Count; i++)
            {
                var label = i < loaded.Count ? baseLabels[i] : "Ensemble";
                perMethod[label].Add(reset[i]);
                // Without BatchNorm the reset changes nothing: the figures as trained are the same.
                asTrained[label].Add((trained ?? reset)[i]);
            }
            Lap("evaluate");
            if (p == 0)
            {
                (alpha, beta, grid) = ChooseAlphaBeta(o, data, session, zipitMatcher);
                methods = Methods(o, alpha, beta, StopPoint.Label(session.Graph, null), session.Graph.Spaces.Any(sp => sp.GroupTie is not null));
                foreach (var method in methods) perMethod[method.Label] = [];
                Lap("hyperparameters");
            }
            foreach (var method in methods)
            {
                status($"pair {p + 1}/{models.Count}: {method.Label}");
                perMethod[method.Label].Add(MergeAndEvaluate(session, method, data, data.Test, p, o, out var timing));
                foreach (var (k, v) in timing) seconds[k] = seconds.GetValueOrDefault(k) + v;
                clock.Restart();
            }
        }
        seconds["total"] = seconds.Values.Sum();

        var order = baseLabels.Concat(methods.Where(m => m.Stop is null).Select(m => m.Label)).Append("Ensemble")
            .Concat(methods.Where(m => m.Stop is not null).Select(m => m.Label)).ToList();
        var rows = order.Select(label =>
        {
            var results = perMethod[label];
            var method = methods.FirstOrDefault(m => m.Label == label);
            var figures = ReproduceReport.Figures.Of(results, data.EvaluationTasks);
            return new ReproduceReport.Row(
                method?.Name ?? (label == "Ensemble" ? "ensemble" : "model"), label, method?.Stop, results[0].Flops, results[0].Flops / 1e9,
                figures.Joint, figures.Tasks, figures.Avg, method?.Settings ?? [], figures.Pairs)
            {
                AsTrained = asTrained.TryGetValue(label, out var before) ? ReproduceReport.Figures.Of(before, data.EvaluationTasks) : null,
                Refit = method?.Refit is { } refit ? RefitOptions.Name(refit.Variant) : null,
                Repair = method?.Repair ?? false,
            };
        }).ToList();

        return new ReproduceReport
        {
            Setting = setting.Name,
            Description = setting.Description,
            ToolVersion = typeof(ReproduceRun).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "",
            Options = o,
            Tasks = data.Tasks.Select((t, i) => new ReproduceReport.TaskEntry(t.Name, data.EvaluationTasks[i].Classes, t.ClassNames,
                t.Train.Count, t.Validation.Count, t.Test.Count)).ToList(),
            Hyperparameters = new ReproduceReport.HyperparameterChoice(alpha, beta,
                $"the validation split of pair 0 ({data.Validation.Count} images), by full-zip ZipIt! joint accuracy", grid),
            Results = rows,
            Models = models.SelectMany((pair, p) => pair.Select(m => m with { Pair = p })).ToList(),
            Pretrained = pretrained,
            Seconds = seconds.ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value, 2)),
        };
    }

    private void Validate(ReproduceOptions o)
    {
        if (o.Pairs < 1) throw ZipItException.Usage($"--pairs must be at least 1, got {o.Pairs}");
        if (o.Width < 1) throw ZipItException.Usage($"--width must be at least 1, got {o.Width}");
        if (o.Calibration < 2) throw ZipItException.Usage($"--calibration must be at least 2 images, got {o.Calibration}");
        var architecture = plugins.Architecture(o.Arch)
            ?? throw ZipItException.Usage($"--arch {o.Arch}: no installed architecture has that name (installed: {string.Join(", ", plugins.Architectures.Select(a => a.Architecture.Name))})");
        if (o.Models is null && o.Protocol is null)
            throw ZipItException.Usage($"--arch {o.Arch}: architecture {architecture.Name} declares no experiment protocol, so reproduce cannot train its models (merge a pair with --models)");
        if (o.Init is not (ReproduceOptions.Pretrained or ReproduceOptions.Scratch)) throw ZipItException.Usage($"--init must be pretrained or scratch, got '{o.Init}'");
        foreach (var key in new[] { "width", "depth", "heads" })
            if (o.Set.ContainsKey(key)) throw ZipItException.Usage($"--arch-set {key}=…: use --{key}");
        if (o.Depth < 1) throw ZipItException.Usage($"--depth must be at least 1, got {o.Depth}");
        if (o.Heads < 1) throw ZipItException.Usage($"--heads must be at least 1, got {o.Heads}");
        if (o.FineTuneLearningRate is { } ft && !(ft > 0 && double.IsFinite(ft))) throw ZipItException.Usage($"--finetune-lr must be positive, got {ft}");
        if (o.FineTuneLearningRate is not null && o.Init != ReproduceOptions.Pretrained) throw ZipItException.Usage("--finetune-lr applies to --init pretrained only");
        if (o.FineTuneEpochs is { } fe && fe < 1) throw ZipItException.Usage($"--finetune-epochs must be at least 1, got {fe}");
        if (o.FineTuneEpochs is not null && o.Init != ReproduceOptions.Pretrained) throw ZipItException.Usage("--finetune-epochs applies to --init pretrained only");
        o.Recipe.Validate(device);
        if (o.Recipe.Head != TrainHead.Clip) throw ZipItException.Usage("reproduce trains class-embedding (clip) heads only");
        if (o.Alphas.Count == 0 || o.Betas.Count == 0) throw ZipItException.Usage("--alphas and --betas need at least one value each");
        o.RefitOptions();
    }

    // A pair's merges, before any training: each model's training is checked again as it starts.
    private void RequireMemory(ReproduceOptions o, ReproduceSetting setting, ProtocolData data, long? maxMemory)
    {
        var settings = new Dictionary<string, string>(o.ModelSettings()) { ["classes"] = o.Recipe.EmbeddingDimension.ToString(CultureInfo.InvariantCulture) };
        var (architecture, config) = plugins.Configure(o.Variant, settings);
        var spaces = architecture.Describe(config).Spaces;
        var image = data.Calibration.Images.shape[1..];
        var estimate = new MergeMemory(setting.Tasks.Count, MemoryEstimate.StateBytes(architecture, config) ?? 0, MergeMemory.Bytes(data.Calibration),
            MergeMemory.Bytes(data.Validation) + MergeMemory.Bytes(data.Test), image.Aggregate(1L, (a, b) => a * b),
            (int)Math.Min(o.EvalBatchSize, data.Calibration.Count), spaces, null);
        var what = $"reproduce {setting.Name} (merging {setting.Tasks.Count} × {config})";
        // Without activations first (counted on the meta device), then with one blank image through a model of the variant.
        MemoryEstimate.RequireAvailable(estimate.Merge, what, maxMemory);
        using var probe = architecture.Create(config);
        estimate = estimate with { Forward = ForwardFootprint.Probe(probe, torch.CPU, spaces, image) };
        // The + refit rows hold the refit's moments and captures beside the models' passes.
        if (o.RefitOptions() is { } refit)
            estimate = estimate with
            {
                RefitBytes = RefitMemory.Bytes(probe, torch.CPU, architecture.Describe(config), null, image, estimate.BatchSize, refit.Variant),
                RefitModels = setting.Tasks.Count + (refit.Variant == RefitVariant.Sequential ? 1 : 0),
            };
        MemoryEstimate.RequireAvailable(estimate.Merge, what, maxMemory);
    }

    /// <summary>
    /// Every pair's models, trained or taken from the cache, and (<c>--init pretrained</c>) each
    /// pair's pretrained start. Pair p's start has seed + 1000p + 100; its task models seed + 1000p + i,
    /// fine-tuned from the start or, from scratch, initialised from that seed.
    /// </summary>
    private (List<List<ReproduceReport.ModelEntry>> Pairs, List<ReproduceReport.ModelEntry> Pretrained) TrainModels(ReproduceOptions o, ReproduceSetting setting,
        long? maxMemory)
    {
        var cache = new ModelCache(o.Cache ?? Path.Combine(DatasetCatalog.CacheFolder, "models"));
        Directory.CreateDirectory(cache.Folder);
        var pairs = new List<List<ReproduceReport.ModelEntry>>();
        var starts = new List<ReproduceReport.ModelEntry>();
        var recipe = o.ResolvedRecipe();
        var fineTune = o.FineTuneRecipe();
        TrainOptions Options(string task, long seed, string? init) => new()
        {
            Variant = o.Variant,
            Settings = o.ModelSettings(),
            Task = task,
            Seed = seed,
            Recipe = init is not null ? fineTune : recipe,
            TrainImages = o.TrainImages,
            ImageSize = ImageSize,
            Init = init,
        };
        for (var p = 0; p < o.Pairs; p++)
        {
            string? init = null;
            if (o.Init == ReproduceOptions.Pretrained)
            {
                var start = TrainOrReuse(cache, Options(o.PretrainTask, o.Seed + 1000L * p + 100, null), p, o, "pretraining", maxMemory);
                starts.Add(start);
                init = start.Path;
            }
            var pair = new List<ReproduceReport.ModelEntry>();
            for (var t = 0; t < setting.Tasks.Count; t++)
                pair.Add(TrainOrReuse(cache, Options(setting.Tasks[t], o.Seed + 1000L * p + t, init), p, o, init is null ? "training" : "fine-tuning", maxMemory));
            pairs.Add(pair);
        }
        return (pairs, starts);
    }

    private ReproduceReport.ModelEntry TrainOrReuse(ModelCache cache, TrainOptions options, int p, ReproduceOptions o, string verb, long? maxMemory)
    {
        var path = cache.PathFor(options);
        var from = options.Init is { } i ? Path.GetFileName(i) : null;
        if (File.Exists(path))
        {
            status($"pair {p + 1}/{o.Pairs}: reusing {options.Task} seed {options.Seed} ({Path.GetFileName(path)})");
            return new ReproduceReport.ModelEntry(p, options.Task, options.Seed, path, true, CachedValidationAccuracy(path), null, null, from);
        }
        status($"pair {p + 1}/{o.Pairs}: {verb} {options.Task} from {(from is null ? $"seed {options.Seed}" : from)} ({options.Recipe.Epochs} epochs)");
        var result = TrainingRun.Run(plugins, options, path, device, logger, progress, cancellation, maxMemory)
            ?? throw new InvalidOperationException("training without a state file cannot stop early");
        status($"pair {p + 1}/{o.Pairs}: {options.Task} validation accuracy {100 * result.ValidationAccuracy:0.0}% ({result.TrainImagesPerSecond:0} images/s)");
        return new ReproduceReport.ModelEntry(p, options.Task, options.Seed, path, false, 100 * result.ValidationAccuracy, result.TrainImagesPerSecond, result.Seconds, from);
    }

    private static double CachedValidationAccuracy(string path)
    {
        using var file = Checkpoints.Checkpoint.Open(path);
        return GivenModels.ValidationAccuracy(file.Metadata);
    }

    /// <summary>The grid search of the reference's hyper-parameter script, scored on validation images rather than the test set.</summary>
    private (double Alpha, double Beta, List<ReproduceReport.GridCell> Grid) ChooseAlphaBeta(ReproduceOptions o, ProtocolData data, MergeSession session, IMatcher zipit)
    {
        var grid = new List<ReproduceReport.GridCell>();
        foreach (var a in o.Alphas)
            foreach (var b in o.Betas)
            {
                status($"choosing α and β on the validation split: α = {a}, β = {b}");
                var r = MergeAndEvaluate(session, new Method(zipit.Name, "grid", zipit, AlphaBeta(a, b), null), data, data.Validation, 0, o, out _);
                grid.Add(new ReproduceReport.GridCell(a, b, 100 * r.Joint, 100 * r.Avg));
            }
        // Best joint accuracy; ties go to the better average, then to the earlier cell.
        var best = grid.OrderByDescending(g => Math.Round(g.Joint, 6)).ThenByDescending(g => Math.Round(g.Avg, 6)).First();
        status($"chose α = {best.Alpha}, β = {best.Beta} (validation joint {best.Joint:0.0}%)");
        return (best.Alpha, best.Beta, grid);
    }

    private static Dictionary<string, string> AlphaBeta(double alpha, double beta) => new() { ["alpha"] = Invariant(alpha), ["beta"] = Invariant(beta) };

    /// <summary>
    /// The table's rows: the built-in matchers (W.Avg, Permute, ZipIt! at the chosen α and β), then
    /// one row per preset of every plugin matcher (one row with its defaults when it declares none),
    /// each followed by the comparison variants it declares and, when asked, by itself refit
    /// (<c>+ refit</c>) and repaired (<c>+ repair</c>), then ZipIt!'s partial zips, each followed by the same stages.
    /// </summary>
    /// <param name="tiedHeads">Whether the model ties grouped points (a ViT's q/k and v heads): only then are comparisons marked <see cref="MatcherComparison.OnlyWithTiedGroups"/> shown.</param>
    private List<Method> Methods(ReproduceOptions o, double alpha, double beta, string full, bool tiedHeads)
    {
        var ab = AlphaBeta(alpha, beta);
        var refit = o.RefitOptions();
        var untie = new Dictionary<string, string> { [MatchMatrices.UntieHeadsParameter.Name] = "true" };
        (IMatcher Matcher, MatcherPreset Preset)[] builtIn =
        [
            (plugins.Matcher(AverageMatcher.MatcherName), new("", "W.Avg", new Dictionary<string, string>(), "weights averaged")),
            (plugins.Matcher(PermuteMatcher.MatcherName), new("", "Permute", new Dictionary<string, string>(), "one model permuted onto the other")
            {
                Comparisons = [new("Permute (untied)", untie, "each of a head's q/k and v points paired on its own, as the reference code does") { OnlyWithTiedGroups = true }],
            }),
            (plugins.Matcher(ZipItMatcher.MatcherName), new("", $"ZipIt!{full}", ab, "ZipIt! at the α and β chosen on validation images")),
        ];
        var rows = builtIn.ToList();
        foreach (var (matcher, _) in plugins.Matchers)
        {
            if (builtIn.Any(b => string.Equals(b.Matcher.Name, matcher.Name, StringComparison.OrdinalIgnoreCase))) continue;
            var presets = matcher.Presets.Count > 0 ? matcher.Presets : [new MatcherPreset("", matcher.Name, new Dictionary<string, string>(), matcher.Description)];
            rows.AddRange(presets.Select(p => (matcher, p)));
        }
        var methods = new List<Method>();
        foreach (var (matcher, preset) in rows)
        {
            // ZipIt!'s α and β chosen above carry over to every matcher that takes them.
            var settings = new Dictionary<string, string>(preset.Settings);
            if (matcher.Parameters.Any(p => p.Name == "alpha")) settings["alpha"] = Invariant(alpha);
            if (matcher.Parameters.Any(p => p.Name == "beta")) settings["beta"] = Invariant(beta);
            var fullMerges = new List<Method> { new(matcher.Name, preset.Label, matcher, settings, null) };
            foreach (var comparison in preset.Comparisons.Where(c => tiedHeads || !c.OnlyWithTiedGroups))
                fullMerges.Add(new(matcher.Name, comparison.Label, matcher, new(settings.Concat(comparison.Settings).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value)), null));
            foreach (var method in fullMerges)
            {
                methods.Add(method);
                // The same matcher and settings, then the stage: the rows differ by the stage alone.
                if (refit is not null) methods.Add(method with { Label = $"{method.Label} + refit", Refit = refit });
                if (o.Repair) methods.Add(method with { Label = $"{method.Label} + repair", Repair = true });
            }
        }
        foreach (var stop in o.Stops)
        {
            var partial = new Method("zipit", $"ZipIt!{stop}/{full[(full.IndexOf('/') + 1)..]}", plugins.Matcher(ZipItMatcher.MatcherName), new(ab), stop.ToString(CultureInfo.InvariantCulture));
            methods.Add(partial);
            // A partial zip's stages work on its merged trunk (the heads are each model's own).
            if (refit is not null) methods.Add(partial with { Label = $"{partial.Label} + refit", Refit = refit });
            if (o.Repair) methods.Add(partial with { Label = $"{partial.Label} + repair", Repair = true });
        }
        return methods;
    }

    private static string Invariant(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Each base model and their Ensemble on the test split, in one pass.</summary>
    private static IReadOnlyList<EvaluationResult> EvaluateBases(IReadOnlyList<string> labels, MergeSession session, ProtocolData data, ReproduceOptions o) =>
        session.EvaluateEachAndEnsemble(labels, "Ensemble", data.Test, o.EvalBatchSize, data.EvaluationTasks, HeadKind.Clip, data.Embeddings);

    /// <summary>One table row: the pair merged by one method (from the session's statistics), evaluated on <paramref name="set"/>, and what each stage cost.</summary>
    private static EvaluationResult MergeAndEvaluate(MergeSession session, Method row, ProtocolData data, TensorDataset set, int pair, ReproduceOptions o,
        out Dictionary<string, double> seconds)
    {
        var before = session.Clock.Snapshot();
        var stopStage = StopPoint.Parse(row.Stop, session.Graph, session.Config);
        var method = new MergeMethod(row.Matcher!, MatchStage.Settings(row.Matcher!, row.Settings), stopStage, o.Seed + pair, o.EvalBatchSize, row.Label,
            new Dictionary<string, string>())
        {
            TapSets = o.TapSets?.ToList(),
            Refit = row.Refit,
            Repair = row.Repair,
        };
        using var merged = session.Merge(method);
        var result = session.Evaluate(row.Label, merged, set, o.EvalBatchSize, data.EvaluationTasks, HeadKind.Clip, data.Embeddings);
        // What this row's stages added to the session's clock (the merged model's reset is the row's "resetBn").
        seconds = session.Clock.Seconds.Where(kv => kv.Value != before.GetValueOrDefault(kv.Key))
            .ToDictionary(kv => kv.Key == "resetBnMerged" ? "resetBn" : kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
        return result;
    }
}
