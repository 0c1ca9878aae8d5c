using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Reproduce;
using ZipIt.Engine.Train;
using ZipIt.Hosting;
using ZipIt.Engine.Core;
using Microsoft.Extensions.Logging;

using ZipIt.Engine.Checkpoints;

namespace ZipIt.Commands;

/// <summary>
/// <c>reproduce SETTING</c> and <c>demo</c>: the paper's experiment end to end (train or reuse,
/// choose α and β on validation images, merge with every method, evaluate on the test split), a
/// paper-style table on stdout and <c>report.json</c>, <c>report.md</c> and plots in the output
/// folder. <c>demo</c> is the same command with defaults small enough for a laptop's CPU.
/// </summary>
internal static class ReproduceCommand
{
    /// <summary>
    /// The defaults of <c>demo</c>: the example pair, or with <c>--train</c> one pair of ResNet-20×1,
    /// briefly trained; a 2 × 2 grid. The <c>--train</c> recipe is zipit's earlier default (peak lr
    /// 0.02, batch 128, 5 % linear warm-up then linear decay, classical momentum 0.9, crops and
    /// flips): at 3 epochs it trains better models and merges than the reference's one-cycle recipe,
    /// which needs more steps than a few minutes of a CPU give. The α/β grid is four cells of the
    /// reference's (α 0.3 or 1, β 0.5 or 1): on the example pair β = 1, the largest same-model budget,
    /// helps every zip (ZipIt!7/20's task average 87.2 at α 0.3, β 1 against 83.5 at α 1, β 0.5).
    /// </summary>
    public static ReproduceOptions DemoDefaults { get; } = new()
    {
        Setting = "fmnist-5+5",
        Width = 1,
        Recipe = new()
        {
            Epochs = 3, BatchSize = 128, LearningRate = 0.02, Schedule = LearningRateSchedule.Linear, Warmup = 0.05,
            Momentum = 0.9, Nesterov = false, HorizontalFlip = true,
        },
        Pairs = 1,
        TrainImages = 15000,
        Calibration = 500,
        Alphas = [0.3, 1.0],
        Betas = [0.5, 1.0],
        ValidationImages = 1000,
        TestImages = 2000,
    };

    public static Command Create(CommandRunner runner) => Build(runner, "reproduce",
        "Reproduce the paper's experiment: train model pairs, choose α/β on validation images, merge with every method, report a table and plots.",
        new ReproduceOptions { Setting = "fmnist-5+5" }, settingRequired: true);

    public static Command CreateDemo(CommandRunner runner) => Build(runner, "demo",
        "Merge the example pair of ResNet-20×4s that ships with zipit with every method and report the table of reproduce fmnist-5+5 (--train: train a small pair first).",
        DemoDefaults, settingRequired: false);

    private static Command Build(CommandRunner runner, string name, string description, ReproduceOptions d, bool settingRequired)
    {
        var isDemo = name == "demo";
        var setting = new Argument<string>("setting")
        {
            Description = $"The experiment: {string.Join(", ", ReproduceSetting.All.Select(s => s.Name))}.",
            Arity = settingRequired ? ArgumentArity.ExactlyOne : ArgumentArity.ZeroOrOne,
        };
        if (!settingRequired) setting.DefaultValueFactory = _ => d.Setting;
        var arch = new Option<string>("--arch")
        {
            Description = "Any installed architecture that declares an experiment protocol: resnet (ResNet-20s, the ZipIt! paper), vit (small ViTs, MuDSC's setting), ...; another architecture's protocol brings its own shape, recipe, --init and --train-images where those options are not given.",
            DefaultValueFactory = _ => d.Arch,
        };
        var init = new Option<string?>("--init")
        {
            Description = $"scratch: every model from its own seed (ZipIt!'s protocol); pretrained: per pair one model pretrained on {d.PretrainTask}, both task models fine-tuned from it (MuDSC's). [default: the architecture's protocol's (scratch for resnet, pretrained for vit)]",
            HelpName = "pretrained|scratch",
        };
        var width = new Option<int?>("--width") { Description = $"The architecture's width setting: ResNet's multiplier, ViT's embedding width. [default: {d.Width} for resnet; the protocol's (64) for vit]", HelpName = "W" };
        var depth = new Option<int?>("--depth") { Description = "The architecture's depth setting, where it has one (ViT blocks). [default: the protocol's (4)]", HelpName = "N" };
        var heads = new Option<int?>("--heads") { Description = "The architecture's heads setting, where it has one (ViT attention heads per block). [default: the protocol's (4)]", HelpName = "N" };
        var finetuneLr = new Option<double?>("--finetune-lr") { Description = "--init pretrained: the peak learning rate of fine-tuning. [default: the architecture's protocol's (1e-3 for vit), else --lr, as pretraining]", HelpName = "LR" };
        var finetuneEpochs = new Option<int?>("--finetune-epochs") { Description = "--init pretrained: the epochs of fine-tuning. [default: the architecture's protocol's (30 for vit), else --epochs, as pretraining]", HelpName = "N" };
        var tapSets = CommonOptions.TapSets();
        tapSets.Description += " none: the architecture's own taps. [default: the architecture's protocol's (blocks for vit)]";
        var norm = new Option<string?>("--norm") { Description = $"The architecture's norm setting, where it has one (ResNet: bn, BatchNorm as the paper, or gn, GroupNorm). [default: {d.Norm}]", HelpName = "bn|gn" };
        var pairs = new Option<int>("--pairs") { Description = "Model pairs (each model from its own seed); α and β are chosen with pair 0.", DefaultValueFactory = _ => d.Pairs, HelpName = "K" };
        var calibration = new Option<int>("--calibration") { Description = "Calibration images (half from each task) for statistics and BatchNorm resets.", DefaultValueFactory = _ => d.Calibration, HelpName = "N" };
        var trainImages = new Option<long?>("--train-images") { Description = "Train each model on a seeded draw of at most N images of its training split (none: all of them).", DefaultValueFactory = _ => d.TrainImages, HelpName = "N" };
        var recipe = new RecipeOptions(d.Recipe, withHead: false);
        // Defaults stated in the text: help would print an array default as "0.3|1".
        string Values(IEnumerable<double> values) => string.Join(" ", values.Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var alphas = new Option<double[]>("--alphas") { Description = $"ZipIt! α values searched. [default: {Values(d.Alphas)}]", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore, HelpName = "A" };
        var betas = new Option<double[]>("--betas") { Description = $"ZipIt! β values searched (AdamW's are --adam-betas). [default: {Values(d.Betas)}]", AllowMultipleArgumentsPerToken = true, Arity = ArgumentArity.OneOrMore, HelpName = "B" };
        var validationImages = new Option<long?>("--validation-images") { Description = "Validation images per grid cell, half from each task (a fixed draw).", DefaultValueFactory = _ => d.ValidationImages, HelpName = "N" };
        var testImages = new Option<long?>("--test-images") { Description = "Test images, half from each task (a fixed draw; none: the whole test split).", DefaultValueFactory = _ => d.TestImages, HelpName = "N" };
        var seed = new Option<long>("--seed") { Description = "Base seed (model i of pair p uses seed + 1000p + i).", DefaultValueFactory = _ => d.Seed };
        var cache = new Option<string?>("--cache") { Description = "Folder of trained models, reused when the recipe matches. [default: ~/.cache/zipit/models]", HelpName = "DIR" };
        var output = new Option<string>("--output", "-o") { Description = "Folder for report.json, report.md and the plots.", DefaultValueFactory = _ => $"zipit-{name}", HelpName = "DIR" };
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var models = new Option<string[]>("--models")
        {
            Description = isDemo
                ? "Merge these checkpoints (one per task, in task order) instead of the example pair that ships with zipit."
                : "Merge these checkpoints (one per task, in task order) as the only pair instead of training.",
            Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = true, HelpName = "FILE",
        };
        var refit = new Option<string?>("--refit")
        {
            Description = "Also refit every full merge by least squares on the calibration images, each a '+ refit' row after its own (the same matcher and settings): teacher (inputs from the base models, one pass) or sequential (the refit model's own inputs, one pass per layer); none: no such rows. "
                + (isDemo ? "[default: teacher for an architecture without BatchNorm (demo --arch vit), else none]" : "[default: none]"),
            HelpName = $"{string.Join("|", Engine.Refit.RefitOptions.Names)}|none",
        };
        var refitRidge = new Option<double?>("--refit-ridge") { Description = $"The refit rows' ridge λ, relative to the mean eigenvalue of each layer's input Gram (0: plain least squares). [default: {Engine.Refit.RefitOptions.DefaultRidge.ToString(CultureInfo.InvariantCulture)}]", HelpName = "LAMBDA" };
        var repair = new Option<bool?>("--repair")
        {
            Description = "Also REPAIR every full merge (each merged unit that no BatchNorm resets gets its matched base units' mean and standard deviation on the calibration images), each a '+ repair' row after its own; for models without BatchNorm, such as ViTs. "
                + (isDemo ? "[default: true for an architecture without BatchNorm (demo --arch vit), else false]" : "[default: false]"),
        };
        var train = new Option<bool>("--train") { Description = "Train a pair from scratch (a few minutes on a CPU) instead of merging the example pair that ships with zipit." };
        var command = new Command(name, description)
        {
            setting, arch, init, width, depth, heads, norm, pairs, calibration, trainImages, alphas, betas, validationImages, testImages, refit, refitRidge, repair, seed, cache, finetuneLr, finetuneEpochs, tapSets, output, models, maxMemory, json, CommonOptions.Device(),
        };
        if (isDemo) command.Options.Add(train);
        foreach (var option in recipe.All) command.Options.Add(option);
        // Options that only shape training: given models are merged as they are.
        // demo's --arch chooses which example pair it merges.
        Option[] trainingOptions = [.. isDemo ? Array.Empty<Option>() : [arch], init, width, depth, heads, norm, pairs, trainImages, seed, cache, finetuneLr, finetuneEpochs, .. recipe.All];
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var limit = CommonOptions.MaxMemoryBytes(ctx.Value(maxMemory));
            var archName = ctx.Value(arch)!.ToLowerInvariant();
            var given = GivenPair(ctx, name, isDemo, archName, ctx.Value(models), isDemo && ctx.Value(train), trainingOptions);
            // The ResNet demo's merges get their statistics back from the BatchNorm reset; a ViT's have
            // no BatchNorm, so its demo shows the stages that do that job (and cost seconds at its size).
            var stagesByDefault = isDemo && archName != ReproduceOptions.ResNet;
            // The architecture's protocol brings its defaults for every option the command line leaves
            // out; the default architecture keeps the command's own (demo's are sized for a laptop).
            var protocol = ctx.Plugins.Architecture(archName)?.Protocol;
            var b = protocol is null ? d with { Arch = archName } : archName == d.Arch ? d with { Protocol = protocol } : d.WithProtocol(archName, protocol);
            T Pick<T>(Option<T> option, T fallback) => parse.GetResult(option) is { Implicit: false } ? ctx.Value(option)! : fallback;
            var options = b with
            {
                Setting = ctx.Value(setting)!,
                Init = ctx.Value(init)?.ToLowerInvariant() ?? b.Init,
                Width = ctx.Value(width) ?? b.Width,
                Depth = ctx.Value(depth) ?? b.Depth,
                Heads = ctx.Value(heads) ?? b.Heads,
                Set = CommonOptions.ArchSettings(ctx.Value(GlobalOptions.ArchSettings) ?? []),
                FineTuneLearningRate = ctx.Value(finetuneLr),
                FineTuneEpochs = ctx.Value(finetuneEpochs),
                // --tap-set none: the architecture's default taps instead of the protocol's.
                TapSets = ctx.Value(tapSets) is { Length: > 0 } t ? (t is ["none"] ? null : t) : b.TapSets,
                Norm = ctx.Value(norm)?.ToLowerInvariant() ?? b.Norm,
                Pairs = ctx.Value(pairs),
                Calibration = ctx.Value(calibration),
                TrainImages = Pick(trainImages, b.TrainImages),
                Recipe = recipe.Read(ctx, b.Recipe),
                Alphas = ctx.Value(alphas) is { Length: > 0 } givenAlphas ? givenAlphas : [.. d.Alphas],
                Betas = ctx.Value(betas) is { Length: > 0 } givenBetas ? givenBetas : [.. d.Betas],
                ValidationImages = ctx.Value(validationImages),
                TestImages = ctx.Value(testImages),
                Seed = ctx.Value(seed),
                Cache = ctx.Value(cache) is { } c ? Path.GetFullPath(c) : null,
                Models = given,
                Refit = (ctx.Value(refit)?.ToLowerInvariant() ?? (stagesByDefault ? Engine.Refit.RefitOptions.Name(Engine.Refit.RefitVariant.Teacher) : null)) is { } variant and not "none" ? variant : null,
                RefitRidge = ctx.Value(refitRidge) ?? Engine.Refit.RefitOptions.DefaultRidge,
                Repair = ctx.Value(repair) ?? stagesByDefault,
            };
            if (options.Refit is { } chosen && !Engine.Refit.RefitOptions.Names.Contains(chosen))
                throw ZipItException.Usage($"--refit {chosen}: expected {string.Join(", ", Engine.Refit.RefitOptions.Names)} or none");
            if (ctx.Value(refitRidge) is not null && options.Refit is null) throw ZipItException.Usage("--refit-ridge is the refit rows': give --refit too");
            if (given is not null)
                options = options with { Pairs = 1, Width = PairWidth(given[0]) ?? options.Width, Arch = PairMetadata(given[0], MetadataKeys.Architecture) ?? options.Arch, Variant = PairMetadata(given[0], MetadataKeys.Variant) ?? options.Variant };
            var folder = Path.GetFullPath(ctx.Value(output)!);
            void Status(string line) { if (ctx.ShowStatus) ctx.Error.WriteLine($"{name}: {line}"); }
            var run = new ReproduceRun(ctx.Engine(), Status);
            var report = run.Run(options, folder, limit);
            Directory.CreateDirectory(folder);
            // The plots and both reports come into place together.
            using (var batch = TempFiles.BeginBatch())
            {
                var plots = ReproducePlots.Write(report, folder);
                report = report with { Plots = plots };
                AtomicFile.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Json.Options) + "\n");
                AtomicFile.WriteAllText(Path.Combine(folder, "report.md"), report.ToDocument());
                batch.Commit();
            }
            if (ctx.Value(json)) Json.Write(ctx.Out, report);
            else
            {
                ctx.Out.Write(report.ToMarkdown());
                ctx.Out.WriteLine();
                ctx.Out.WriteLine(report.Legend());
                if (given is not null)
                    ctx.Out.WriteLine(isDemo && ctx.Value(models) is not { Length: > 0 }
                        ? $"Models: the example pair that ships with zipit ({(options.Arch == ReproduceOptions.ResNet ? $"{options.Variant}×{options.Width}" : options.Variant)} trained by 'zipit train', stored as {GivenModels.Storage(given)}; 'demo --train' trains a pair instead)."
                        : $"Models: {string.Join(", ", given.Select(Path.GetFileName))} as given (stored as {GivenModels.Storage(given)}).");
                ctx.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"α = {report.Hyperparameters.Alpha}, β = {report.Hyperparameters.Beta} (chosen on validation images); {report.Seconds["total"]:0} s"));
                ctx.Out.WriteLine($"report: {Path.Combine(folder, "report.json")}");
            }
            return 0;
        })));
        return command.WithExamples(isDemo
            ? ["dotnet zipit demo", "dotnet zipit demo --arch vit", "dotnet zipit demo --train", "dotnet zipit demo --models a.safetensors b.safetensors"]
            : ["dotnet zipit reproduce fmnist-5+5 --pairs 1", "dotnet zipit reproduce fmnist-5+5 --arch vit --init pretrained --pairs 2",
               "dotnet zipit reproduce fmnist+mnist --models a.safetensors b.safetensors"]);
    }

    /// <summary>
    /// The pair to merge instead of training: <c>--models</c>, or for <c>demo</c> without
    /// <c>--train</c> the example pair beside the tool; null when a pair is to be trained. Training
    /// options given with a pair to merge are a usage error (exit 2): they would change nothing.
    /// </summary>
    private static IReadOnlyList<string>? GivenPair(CommandContext ctx, string name, bool isDemo, string arch, string[]? models, bool train, Option[] trainingOptions)
    {
        var given = models is { Length: > 0 } ? models : null;
        if (given is not null && train) throw ZipItException.Usage("--models and --train: give models to merge or ask for a pair to be trained, not both");
        if (given is null && isDemo && !train)
        {
            given = GivenModels.DemoPair(arch)?.ToArray();
            if (given is null) ctx.Logger.LogWarning("this build has no example pair of {Arch} ({Folder}/ beside the tool): training one instead", arch, GivenModels.DemoPairFolder(arch));
        }
        if (given is null) return null;
        var explicitOption = trainingOptions.FirstOrDefault(o => ctx.ParseResult.GetResult(o) is { Implicit: false });
        if (explicitOption is not null)
            throw ZipItException.Usage(isDemo && models is not { Length: > 0 }
                ? $"{explicitOption.Name} shapes training, and {name} merges the example pair as it is: add --train to train a pair by these options"
                : $"{explicitOption.Name} shapes training, and --models are merged as they are");
        return given;
    }

    /// <summary>What a checkpoint records under <paramref name="key"/> (its architecture family, its variant; for the report), or null.</summary>
    private static string? PairMetadata(string path, string key)
    {
        using var file = Checkpoint.Open(path);
        return file.Metadata.TryGetValue(key, out var value) ? value : null;
    }

    /// <summary>The width setting a checkpoint records (for the report), or null.</summary>
    private static int? PairWidth(string path)
    {
        using var file = Checkpoint.Open(path);
        return file.Metadata.TryGetValue(MetadataKeys.Config, out var json)
            && JsonSerializer.Deserialize<Dictionary<string, string>>(json) is { } settings
            && settings.TryGetValue("width", out var w) && int.TryParse(w, CultureInfo.InvariantCulture, out var width) ? width : null;
    }
}
