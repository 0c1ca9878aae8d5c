using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Cli;
using ZipIt.Collect;
using ZipIt.Data;
using ZipIt.Evaluate;
using ZipIt.Matching;
using ZipIt.Merge;
using ZipIt.Models;
using ZipIt.Output;
using ZipIt.ResetBn;
using ZipIt.Zip;
using static TorchSharp.torch;
using ZipIt.Core;

namespace ZipIt.Commands;

/// <summary>
/// <c>merge [RECIPE.json] [flags]</c>: load → reset BN of the base models → collect → match → zip →
/// reset BN of the merged model (trunk and heads) → evaluate (optional), in one process. Every flag
/// has a recipe key; flags override the recipe; the resolved recipe is written beside the output.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(CommandRunner runner)
    {
        var recipe = new Argument<string?>("recipe") { Description = "A JSON recipe (keys: models, data, images, batchSize, resetBn, matcher, alpha, beta, settings, stop, seed, output, evaluate).", Arity = ArgumentArity.ZeroOrOne };
        var models = new Option<string[]>("--models") { Description = "Two or more checkpoints of one architecture and width.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true, HelpName = "FILE" };
        var data = new Option<string?>("--data") { Description = "Calibration images (.safetensors with tensor 'images') for collecting statistics and resetting BatchNorm; data-free matchers (average, mudsc with balance 1) run without it.", HelpName = "FILE" };
        var images = DataOptions.Images();
        var batchSize = new Option<int?>("--batch-size") { Description = "Images per forward pass (default 100).", HelpName = "N" };
        var resetBn = new Option<bool?>("--reset-bn") { Description = "Reset the base models' BatchNorm statistics before collecting (default true, as the paper)." };
        var matcher = new Option<string?>("--matcher") { Description = "zipit (default), permute, average, or a plugin's matcher.", HelpName = "NAME" };
        var alpha = new Option<double?>("--alpha") { Description = "ZipIt!'s α.", HelpName = "A" };
        var beta = new Option<double?>("--beta") { Description = "ZipIt!'s β.", HelpName = "B" };
        var balance = CommonOptions.Balance();
        var mode = CommonOptions.Mode();
        var set = new Option<string[]>("--set") { Description = "Any matcher setting as name=value. Repeatable.", Arity = ArgumentArity.OneOrMore, HelpName = "NAME=VALUE" };
        var stop = new Option<string?>("--stop") { Description = "Partial zip: stop after this point (e.g. 13, or a stage name); default: full zip.", HelpName = "POINT" };
        var seed = new Option<long?>("--seed") { Description = "Seed for matchers with randomness (default 0).", HelpName = "N" };
        var output = new Option<string?>("--output", "-o") { Description = "Merged checkpoint to write; the resolved recipe goes to <output>.recipe.json.", HelpName = "FILE" };
        var evalData = new Option<string?>("--eval-data") { Description = "Evaluate the merged model on these labelled images.", HelpName = "FILE" };
        var tasks = new Option<string[]>("--task") { Description = "Evaluation task NAME=CLASSES (repeatable; needs --eval-data).", Arity = ArgumentArity.OneOrMore, HelpName = "NAME=CLASSES" };
        var head = new Option<HeadKind?>("--head") { Description = "How outputs are read for evaluation: logits (default) or clip." };
        var embeddings = new Option<string?>("--class-embeddings") { Description = "Class embeddings for clip heads.", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var command = new Command("merge", "Run the whole merge (collect, match, zip, reset BN, evaluate) from flags or a JSON recipe.")
        {
            recipe, models, data, images, batchSize, resetBn, matcher, alpha, beta, balance, mode, set, stop, seed, output, evalData, tasks, head, embeddings, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var file = ctx.Value(recipe) is { } path ? MergeRecipe.Load(path) : new MergeRecipe();
            T? Flag<T>(Option<T> o) => parse.GetResult(o) is null ? default : parse.GetValue(o);
            var settings = new Dictionary<string, string>(file.Settings ?? [], StringComparer.OrdinalIgnoreCase);
            foreach (var (k, v) in MatchCommand.SettingValues(null, null, Flag(set) ?? [], Flag(balance), Flag(mode))) settings[k] = v;
            var evaluation = file.Evaluate;
            if (Flag(evalData) is not null || Flag(tasks) is not null || Flag(head) is not null || Flag(embeddings) is not null)
                evaluation = (evaluation ?? new MergeRecipe.EvaluationRecipe()) with
                {
                    Data = FullPath(Flag(evalData)) ?? evaluation?.Data,
                    Tasks = Flag(tasks) ?? evaluation?.Tasks,
                    Head = Flag(head)?.ToString().ToLowerInvariant() ?? evaluation?.Head,
                    ClassEmbeddings = FullPath(Flag(embeddings)) ?? evaluation?.ClassEmbeddings,
                };
            var resolved = file with
            {
                Models = Flag(models)?.Select(m => FullPath(m)!).ToArray() ?? file.Models,
                Data = FullPath(Flag(data)) ?? file.Data,
                Images = Flag(images) ?? file.Images,
                BatchSize = Flag(batchSize) ?? file.BatchSize ?? 100,
                ResetBn = Flag(resetBn) ?? file.ResetBn ?? true,
                Matcher = Flag(matcher) ?? file.Matcher ?? ZipItMatcher.MatcherName,
                Alpha = Flag(alpha) ?? file.Alpha,
                Beta = Flag(beta) ?? file.Beta,
                Settings = settings,
                Stop = Flag(stop) ?? file.Stop,
                Seed = Flag(seed) ?? file.Seed ?? 0,
                Output = FullPath(Flag(output)) ?? file.Output,
                Evaluate = evaluation,
            };
            return Execute(ctx, resolved, ctx.Value(json));
        })));
        return command;
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    private static int Execute(CommandContext ctx, MergeRecipe recipe, bool json)
    {
        if (recipe.Models is not { Length: >= 2 }) throw ZipItException.Usage("merge needs two or more models (--models or the recipe's \"models\")");
        if (recipe.Output is null) throw ZipItException.Usage("merge needs an output (-o or the recipe's \"output\")");
        DataOptions.Validate(recipe.Images, recipe.BatchSize!.Value);
        var batchSize = recipe.BatchSize.Value;
        var matcher = ctx.Plugins.Matcher(recipe.Matcher!);
        var values = new Dictionary<string, string>(recipe.Settings!, StringComparer.OrdinalIgnoreCase);
        foreach (var (k, v) in MatchCommand.SettingValues(recipe.Alpha, recipe.Beta, [])) values[k] = v;
        var settings = MatchStage.Settings(matcher, values);
        var required = MatchStage.RequiredInputs(matcher, settings);
        // A data-free matcher (average, mudsc with balance=1) needs no data; then BatchNorm is not reset.
        if (recipe.Data is null && required.HasFlag(MatcherInputs.Activations))
            throw ZipItException.Usage($"merge needs calibration data (--data or the recipe's \"data\"): matcher {matcher.Name} uses activations with these settings");
        IReadOnlyList<EvaluationTask>? tasks = null;
        HeadKind headKind = HeadKind.Logits;
        if (recipe.Evaluate is { } e)
        {
            if (e.Data is null || e.Tasks is null) throw ZipItException.Usage("evaluation needs both data (--eval-data) and tasks (--task)");
            tasks = EvaluationTask.Parse(e.Tasks);
            if (e.Head is not null && !Enum.TryParse(e.Head, ignoreCase: true, out headKind)) throw ZipItException.Usage($"head '{e.Head}' is not logits or clip");
        }

        var timings = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        void Lap(string stage) { timings[stage] = clock.Elapsed.TotalSeconds - timings.Values.Sum(); }
        // merge writes several artifacts (checkpoint, recipe) into the output's folder, as mergekit does.
        Directory.CreateDirectory(Path.GetDirectoryName(recipe.Output)!);
        var loaded = ctx.Get<ModelLoader>().LoadAll(recipe.Models);
        var temp = Path.Combine(Path.GetDirectoryName(recipe.Output)!, $".{Path.GetFileName(recipe.Output)}.zip-{Guid.NewGuid():N}.safetensors");
        try
        {
            using var dataset = recipe.Data is null ? null : TensorDataset.Load(recipe.Data, recipe.Images);
            if (dataset is null)
                ctx.Logger.LogWarning("no calibration data: BatchNorm statistics are merged as they are, not reset");
            var graph = loaded[0].Graph;
            var stopStage = StopPoint.Parse(recipe.Stop, graph, loaded[0].Config);
            foreach (var m in loaded) WeightCheck.RequireFinite(m);
            Lap("load");

            if (recipe.ResetBn!.Value && dataset is not null)
                foreach (var m in loaded)
                    BatchNormReset.Run(m.Modules, dataset.Batches(batchSize).Select(b => b.Images), x => m.Forward(x), ctx.CancellationToken);
            Lap("resetBnBase");

            var points = Zipper.PointsUpTo(graph, stopStage);
            var statistics = required.HasFlag(MatcherInputs.Activations)
                ? CollectStage.Run(loaded, points, dataset!, batchSize, resetBn: false, ctx.CancellationToken)
                : [];
            Lap("collect");

            var matchPoints = MatchStage.Points(points, statistics);
            // Matching and zipping run on the CPU (sequential greedy; a few small products per layer).
            var states = loaded.Select(m => m.CpuState()).ToList();
            var matches = MatchStage.Run(matcher, settings, matchPoints, loaded.Count, graph,
                required.HasFlag(MatcherInputs.Weights) ? states : null, recipe.Seed!.Value, ctx.Logger, ctx.CancellationToken, Path.GetFileName(recipe.Data ?? recipe.Models[0]));
            Lap("match");

            var taskNames = loaded.Select(m => m.Metadata.GetValueOrDefault(MetadataKeys.Task) ?? Path.GetFileNameWithoutExtension(m.Path)).ToList();
            using (var zipped = Zipper.Zip(states, graph, matches, stopStage, new ZipOptions()))
                ZippedCheckpoint.Write(temp, zipped, loaded[0].Config, graph, taskNames, new Dictionary<string, string>
                {
                    [MetadataKeys.Sources] = JsonSerializer.Serialize(loaded.Select(m => Path.GetFileName(m.Path))),
                    [MetadataKeys.Recipe] = JsonSerializer.Serialize(recipe, new JsonSerializerOptions(Json.Options) { WriteIndented = false }),
                    [MetadataKeys.Matcher] = matcher.Name,
                    [MetadataKeys.MatcherSettings] = JsonSerializer.Serialize(settings.Effective),
                });
            foreach (var (c, m) in statistics.Values) { c.Dispose(); m.Dispose(); }
            Lap("zip");

            using var merged = ctx.Get<ModelLoader>().Load(temp);
            if (dataset is not null)
                BatchNormReset.Run(merged.Modules, dataset.Batches(batchSize).Select(b => b.Images), x => merged.Forward(x), ctx.CancellationToken);
            ModelWriter.Save(merged, recipe.Output);
            AtomicFile.WriteAllText(recipe.Output + ".recipe.json", recipe.ToJson());
            Lap("resetBnMerged");

            EvaluationResult? result = null;
            if (recipe.Evaluate is { } evaluation)
            {
                using var test = TensorDataset.Load(evaluation.Data!, labelsRequired: true);
                using var classEmbeddings = evaluation.ClassEmbeddings is null ? null : EvaluateCommand.ReadEmbeddings(evaluation.ClassEmbeddings);
                result = EvaluationStage.Run(Path.GetFileName(recipe.Output), [merged], test, batchSize, tasks!, headKind, classEmbeddings,
                    x => merged.Forward(x), ctx.CancellationToken, out _) with { Models = [Path.GetFileName(recipe.Output)] };
                Lap("evaluate");
            }

            var total = clock.Elapsed.TotalSeconds;
            var forward = timings["resetBnBase"] + timings["collect"] + timings["resetBnMerged"];
            ctx.Logger.LogInformation("merged {Count} models with {Matcher} (ZipIt!{Label}) → {Output} in {Total:0.00} s ({Stages})",
                loaded.Count, matcher.Name, StopPoint.Label(graph, stopStage), recipe.Output, total,
                string.Join(", ", timings.Select(kv => $"{kv.Key} {kv.Value:0.00} s")));
            if (result is not null)
                ctx.Logger.LogInformation("joint {Joint:P1}, {Tasks}, average {Avg:P1}", result.Joint,
                    string.Join(", ", result.Tasks.Select(kv => $"{kv.Key} {kv.Value:P1}")), result.Avg);
            if (json)
                Json.Write(ctx.Out, new { output = recipe.Output, recipe = recipe.Output + ".recipe.json", stop = StopPoint.Label(graph, stopStage), seconds = timings, total, forwardShare = forward / total, evaluation = result });
            return 0;
        }
        finally
        {
            foreach (var m in loaded) m.Dispose();
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
