using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
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
using ZipIt.Engine.ResetBn;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;
using ZipIt.Engine.Core;
using ZipIt.Hosting;
using ZipIt.Engine.Checkpoints;

namespace ZipIt.Commands;

/// <summary>
/// <c>merge [RECIPE.yaml|RECIPE.json] [flags]</c>: load → reset BN of the base models → collect → match → zip → REPAIR (when asked) →
/// reset BN of the merged model (trunk and heads) → evaluate (optional), in one process. Every flag
/// has a recipe key; flags override the recipe; the resolved recipe is written beside the output.
/// </summary>
internal static class MergeCommand
{
    public static Command Create(CommandRunner runner)
    {
        var recipe = new Argument<string[]>("recipe|model") { Description = $"A YAML (.yaml, .yml) or JSON (.json) recipe; its relative paths are relative to its folder (keys: {string.Join(", ", RecipeBinder.Keys)}; see docs/recipes.md). Checkpoints given here (after the recipe, if any) are the models to merge, as --models.", Arity = ArgumentArity.ZeroOrMore };
        var models = new Option<string[]>("--models") { Description = "Two or more checkpoints of one architecture and width.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true, HelpName = "FILE" };
        var arch = CommonOptions.Arch();
        var data = new Option<string?>("--data") { Description = $"Calibration images for collecting statistics and resetting BatchNorm: {DataOptions.SourceHelp}; data-free matchers (average, mudsc with balance 1) run without it.", HelpName = "SOURCE" };
        var images = DataOptions.Images();
        var preprocess = DataOptions.Preprocess();
        var batchSize = new Option<int?>("--batch-size") { Description = "Images per forward pass. [default: 100]", HelpName = "N" };
        var resetBn = new Option<bool?>("--reset-bn") { Description = "Reset the base models' BatchNorm statistics before collecting, as the paper does (--reset-bn false to skip). [default: true]" };
        var matcher = new Option<string?>("--matcher") { Description = "zipit, permute, average, or a plugin's matcher (see 'plugins list'). [default: zipit]", HelpName = "NAME" };
        var alpha = new Option<double?>("--alpha") { Description = "ZipIt!'s α.", HelpName = "A" };
        var beta = new Option<double?>("--beta") { Description = "ZipIt!'s β.", HelpName = "B" };
        var preset = CommonOptions.Preset();
        var tapSets = CommonOptions.TapSets();
        var set = new Option<string[]>("--set") { Description = "Any matcher setting as name=value. Repeatable.", Arity = ArgumentArity.OneOrMore, HelpName = "NAME=VALUE" };
        var stop = new Option<string?>("--stop") { Description = "Partial zip: stop after this point (e.g. 13, or a stage name). [default: full zip]", HelpName = "POINT" };
        var seed = new Option<long?>("--seed") { Description = "Seed for matchers with randomness. [default: 0]", HelpName = "N" };
        var output = new Option<string?>("--output", "-o") { Description = "Merged checkpoint to write; the resolved recipe goes to <output>.recipe.json, the model card to NAME.README.md (README.md for model.safetensors).", HelpName = "FILE" };
        var dtype = new Option<string?>("--dtype") { Description = $"Store the merged checkpoint's floating-point tensors as {StorageDType.Names}; evaluation uses the weights as stored. [default: f32]", HelpName = "TYPE" };
        var noCard = new Option<bool>("--no-card", "--no-write-model-card") { Description = "Do not write the model card (README) beside the output." };
        var squared = new Option<bool>("--squared-running-var") { Description = "Merge BatchNorm running variances with the squared merge matrix (the paper's appendix) rather than the plain one (the reference code); irrelevant when BatchNorm is reset." };
        var refit = CommonOptions.Choice<RefitVariant>("--refit", "Refit the zipped layers by least squares on the calibration images (before the BatchNorm reset): teacher (inputs from the base models, one pass) or sequential (inputs from the refit model itself, one pass per layer). [default: no refit]");
        var refitRidge = new Option<double?>("--refit-ridge") { Description = $"The refit's ridge λ, relative to the mean eigenvalue of each layer's input Gram; it pulls towards the zip's weights (0: plain least squares). [default: {RefitOptions.DefaultRidge.ToString(System.Globalization.CultureInfo.InvariantCulture)}]", HelpName = "LAMBDA" };
        var repair = new Option<bool?>("--repair") { Description = "REPAIR after the zip (and the refit, if any): give each merged unit that no BatchNorm resets (a ViT's LayerNorm outputs, MLP hidden units, q, k, v and the branches that add to its residual stream) the mean and standard deviation of its matched base units on the calibration images, by an affine correction of its layer (needs --data; see docs/repair.md). [default: false]" };
        var evalData = new Option<string?>("--eval-data") { Description = "Evaluate the merged model on these labelled images (as --data; a dataset spec naming no split reads its test split).", HelpName = "SOURCE" };
        var tasks = new Option<string[]>("--task") { Description = "Evaluation task NAME=CLASSES (repeatable; needs --eval-data).", Arity = ArgumentArity.OneOrMore, HelpName = "NAME=CLASSES" };
        var head = CommonOptions.Choice<HeadKind>("--head", "How outputs are read for evaluation: logits or clip. [default: as the models record (zipit.head)]");
        var embeddings = new Option<string?>("--class-embeddings") { Description = "Class embeddings for clip heads. [default: regenerated from the class names the models record]", HelpName = "FILE" };
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var device = CommonOptions.Device();
        var command = new Command("merge", "Run the whole merge (collect, match, zip, reset BN, evaluate) from flags or a YAML or JSON recipe.")
        {
            recipe, models, arch, data, images, preprocess, batchSize, resetBn, tapSets, matcher, preset, alpha, beta, set, stop, seed, squared, refit, refitRidge, repair, output, dtype, noCard, evalData, tasks, head, embeddings, maxMemory, json, device,
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            // merge RECIPE, merge A B, merge RECIPE A B: a recipe is known by its extension.
            var words = ctx.Value(recipe) ?? [];
            var recipePath = words.FirstOrDefault() is { } first && IsRecipe(first) ? first : null;
            var positionalModels = words.Skip(recipePath is null ? 0 : 1).ToArray();
            if (positionalModels.FirstOrDefault(IsRecipe) is { } second) throw ZipItException.Usage($"{second}: one recipe at most, and it comes first");
            if (positionalModels.Length > 0 && parse.GetResult(models) is not null) throw ZipItException.Usage("give the models as arguments or with --models, not both");
            var file = recipePath is not null ? MergeRecipe.Load(recipePath) : new MergeRecipe();
            T? Flag<T>(Option<T> o) => parse.GetResult(o) is null ? default : parse.GetValue(o);
            var settings = new Dictionary<string, string>(file.Settings ?? [], StringComparer.OrdinalIgnoreCase);
            foreach (var (k, v) in SettingList.Parse(Flag(set) ?? [])) settings[k] = v;
            // --arch-set is every command's (recognition hints); merge records it in its recipe.
            var archSettings = new Dictionary<string, string>(file.ArchSettings ?? [], StringComparer.OrdinalIgnoreCase);
            foreach (var (k, v) in SettingList.Parse(Flag(GlobalOptions.ArchSettings) ?? [], "--arch-set")) archSettings[k] = v;
            var evaluation = file.Evaluate;
            if (Flag(evalData) is not null || Flag(tasks) is not null || Flag(head) is not null || Flag(embeddings) is not null)
                evaluation = (evaluation ?? new MergeRecipe.EvaluationRecipe()) with
                {
                    Data = DataPath(Flag(evalData)) ?? evaluation?.Data,
                    Tasks = Flag(tasks) ?? evaluation?.Tasks,
                    Head = Flag(head)?.ToString().ToLowerInvariant() ?? evaluation?.Head,
                    ClassEmbeddings = FullPath(Flag(embeddings)) ?? evaluation?.ClassEmbeddings,
                };
            // Flags override the file; every default is the recipe's own (MergeRecipe.WithDefaults).
            var resolved = file with
            {
                Models = (positionalModels.Length > 0 ? positionalModels : Flag(models))?.Select(m => FullPath(m)!).ToArray() ?? file.Models,
                Arch = Flag(arch) ?? file.Arch,
                ArchSettings = archSettings.Count > 0 ? archSettings : null,
                Data = DataPath(Flag(data)) ?? file.Data,
                Images = Flag(images) ?? file.Images,
                Preprocess = Flag(preprocess) is { Length: > 0 } p ? p : file.Preprocess,
                BatchSize = Flag(batchSize) ?? file.BatchSize,
                ResetBn = Flag(resetBn) ?? file.ResetBn,
                Matcher = Flag(matcher) ?? file.Matcher,
                Preset = Flag(preset) ?? file.Preset,
                TapSets = Flag(tapSets) ?? file.TapSets,
                Alpha = Flag(alpha) ?? file.Alpha,
                Beta = Flag(beta) ?? file.Beta,
                Settings = settings,
                Stop = Flag(stop) ?? file.Stop,
                Seed = Flag(seed) ?? file.Seed,
                SquaredRunningVar = Flag(squared) ? true : file.SquaredRunningVar,
                Refit = Flag(refit) is { } variant ? RefitOptions.Name(variant) : file.Refit,
                RefitRidge = Flag(refitRidge) ?? file.RefitRidge,
                Output = FullPath(Flag(output)) ?? file.Output,
                DType = Flag(dtype) ?? file.DType,
                Card = Flag(noCard) ? false : file.Card,
                Repair = Flag(repair) ?? file.Repair,
                Evaluate = evaluation,
            };
            var command = Shell.Join(ToolIdentity.Command.Split(' ').Concat(parse.Tokens.Select(t => t.Value)));
            return Execute(ctx, resolved, command, ctx.Value(json), ctx.Value(device)!, CommonOptions.MaxMemoryBytes(ctx.Value(maxMemory)));
        })));
        return command.WithExamples(
            "dotnet zipit merge a.safetensors b.safetensors --data images/ -o merged/",
            "dotnet zipit merge a.pth b.pth --data calibration/ --preprocess imagenet --eval-data test/ --task a=0-4 --task b=5-9 -o merged/",
            "dotnet zipit merge recipe.yaml --stop 13");
    }

    private static string? FullPath(string? path) => path is null ? null : Path.GetFullPath(path);

    private static bool IsRecipe(string path) => Path.GetExtension(path).ToLowerInvariant() is ".yaml" or ".yml" or ".json";

    /// <summary>A data flag's value as a full path where it is one (<see cref="MergeRecipe.DataPath"/>), else as typed.</summary>
    private static string? DataPath(string? value) => MergeRecipe.DataPath(value, Environment.CurrentDirectory);

    /// <summary>How merge's errors name the recipe's keys: as the flags that set them.</summary>
    private static readonly SettingNames Flags = new(new Dictionary<string, string>
    {
        ["models"] = "--models", ["data"] = "--data", ["images"] = "--images", ["batch_size"] = "--batch-size", ["output"] = "--output",
        ["evaluate.data"] = "--eval-data", ["evaluate.tasks"] = "--task", ["evaluate.head"] = "--head", ["evaluate.class_embeddings"] = "--class-embeddings",
        ["refit"] = "--refit", ["refit_ridge"] = "--refit-ridge",
    });

    private static int Execute(CommandContext ctx, MergeRecipe recipe, string command, bool json, string deviceSpec, long? maxMemory)
    {
        var engine = ctx.Engine(maxMemory);
        var clock = new StageClock();
        var wall = Stopwatch.StartNew();
        // merge writes several artifacts (checkpoint, recipe) into the output's folder, as mergekit does;
        // the checks need the folder, and a run refused, failed or cancelled takes it away again.
        var folder = Path.GetFullPath(Path.GetDirectoryName(ModelFolder.CheckpointPath(recipe.Output ?? ".")) is { Length: > 0 } f ? f : ".");
        var created = !Directory.Exists(folder);
        // The outermost folder this run creates: -o a/b/m.safetensors may create a/ too.
        var top = folder;
        while (Path.GetDirectoryName(top) is { } parent && !Directory.Exists(parent)) top = parent;
        if (created) Directory.CreateDirectory(folder);
        try
        {
            var spec = recipe.Resolve(ctx.Plugins, Flags);
            using var session = MergeSession.Open(engine, new SessionInputs(spec.Models) { Arch = spec.Arch, ArchSettings = spec.ArchSettings, Data = spec.Data, Images = spec.Images, Preprocess = spec.Preprocess }, clock);
            return Write(ctx, session.Run(spec), clock, command, json, wall);
        }
        catch when (created)
        {
            try
            {
                if (Directory.Exists(top) && !Directory.EnumerateFiles(top, "*", SearchOption.AllDirectories).Any()) Directory.Delete(top, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
    }

    /// <summary>What merge prints on stdout: what was merged and how, where it went, how it scored, how long it took.</summary>
    private static string Summary(MergeOutcome outcome, string output, string? card, bool folder, double seconds)
    {
        var spec = outcome.Spec;
        var s = new System.Text.StringBuilder();
        s.Append($"merged {string.Join(" + ", outcome.Sources.Select(x => x.File))} ({outcome.Config}) with {outcome.Matcher.Name}, ZipIt!{outcome.StopLabel}");
        s.Append(outcome.CalibrationImages is { } n ? $", on {n} images of {spec.Data}\n" : ", without data\n");
        s.Append($"  wrote {output}{(folder ? " (model.safetensors, config.json" + (card is null ? "" : ", README.md") + ", the recipe)" : card is null ? "" : $" and its card {Path.GetFileName(card)}")}\n");
        if (outcome.Evaluation is { } e && spec.Evaluation is { } plan)
            s.Append(System.FormattableString.Invariant($"  accuracy on {outcome.EvaluationImages} images of {plan.Data} ({plan.Head?.ToString().ToLowerInvariant()} head): joint {100 * e.Joint:0.0}, ")
                + string.Join(", ", e.Tasks.Select(kv => System.FormattableString.Invariant($"{kv.Key} {100 * kv.Value:0.0}"))) + System.FormattableString.Invariant($", average {100 * e.Avg:0.0}\n"));
        s.Append(System.FormattableString.Invariant($"  in {seconds:0.0} s\n"));
        return s.ToString();
    }

    private static int Write(CommandContext ctx, MergeOutcome outcome, StageClock clock, string command, bool json, Stopwatch wall)
    {
        using var merged = outcome.Merged;
        var spec = outcome.Spec;
        var cardPath = spec.Card ? ModelCard.PathFor(spec.Output) : null;
        var card = cardPath is null ? null : clock.Time("card", () => ModelCard.For(outcome, command).ToMarkdown());
        // The checkpoint, its recipe and its card appear together or not at all.
        var recipeFile = spec.RecipeFile;
        List<(string, Action)> outputs =
        [
            (spec.Output, () => ModelWriter.Save(merged, spec.Output, dtype: spec.DType, maxShardBytes: spec.OutputFolder is null ? null : ModelFolder.ShardBytes)),
            (recipeFile, () => AtomicFile.WriteAllText(recipeFile, spec.Recipe.Portable(spec.Output).ToJson())),
        ];
        if (cardPath is not null) outputs.Add((cardPath, () => AtomicFile.WriteAllText(cardPath, card!)));
        var configPath = spec.OutputFolder is { } dir ? Path.Combine(dir, ModelFolder.ConfigFile) : null;
        if (configPath is not null)
            outputs.Add((configPath, () => AtomicFile.WriteAllText(configPath, ModelFolder.Config(merged.Metadata, outcome.Sources.Select(s => s.File).ToList()))));
        clock.Time("write", () => AtomicFile.Together(outputs));

        var seconds = clock.Snapshot();
        var total = wall.Elapsed.TotalSeconds;
        var forward = StageClock.ForwardStages.Sum(s => seconds.GetValueOrDefault(s));
        ctx.Logger.LogInformation("merged {Count} models with {Matcher} (ZipIt!{Label}) → {Output} in {Total:0.00} s ({Stages})",
            spec.Models.Count, outcome.Matcher.Name, outcome.StopLabel, spec.Output, total,
            string.Join(", ", seconds.Select(kv => $"{kv.Key} {kv.Value:0.00} s")));
        if (outcome.Evaluation is { } result)
            ctx.Logger.LogInformation("joint {Joint:P1}, {Tasks}, average {Avg:P1}", result.Joint,
                string.Join(", ", result.Tasks.Select(kv => $"{kv.Key} {kv.Value:P1}")), result.Avg);
        if (!json) ctx.Out.Write(Summary(outcome, spec.OutputFolder ?? spec.Output, cardPath, configPath is not null, total));
        if (json)
            Json.Write(ctx.Out, new { output = spec.Output, folder = spec.OutputFolder, config = configPath, recipe = recipeFile, card = cardPath, dtype = StorageDType.Name(spec.DType), stop = outcome.StopLabel, seconds, total, forwardShare = forward / total, evaluation = outcome.Evaluation });
        return 0;
    }
}
