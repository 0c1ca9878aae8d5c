using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Data;
using System.CommandLine;
using ZipIt.Engine.Output;
using ZipIt.Engine.Train;
using ZipIt.Hosting;
using ZipIt.Engine.Core;

namespace ZipIt.Commands;

/// <summary><c>train VARIANT --data DATASET:CLASSES -o FILE</c>: trains a model of any registered variant on a task from a seed.</summary>
internal static class TrainCommand
{
    public static Command Create(CommandRunner runner)
    {
        var variant = new Argument<string>("variant") { Description = "A registered variant (see 'plugins list'), e.g. resnet20." };
        var data = new Option<string>("--data") { Description = "The training data: a dataset spec NAME[:CLASSES] (fashion-mnist:0-4, mnist:all, cifar10; its train split, validated on its test split) or an image folder (a subfolder per class; train/ and test/ subfolders where it has them).", Required = true, HelpName = "SOURCE" };
        var output = new Option<string>("--output", "-o") { Description = "Checkpoint to write (.safetensors).", Required = true, HelpName = "FILE" };
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation, shuffling and augmentation.", DefaultValueFactory = _ => 0 };
        var recipe = new RecipeOptions(new TrainingRecipe(), withHead: true);
        var embeddings = new Option<string?>("--class-embeddings") { Description = "Class embeddings (tensor 'embeddings' [K, D], row = class id). [default: seeded unit vectors from the class names]", HelpName = "FILE" };
        var trainImages = new Option<long?>("--train-images") { Description = "Train on a seeded draw of at most N images of the training split.", HelpName = "N" };
        var init = new Option<string?>("--init") { Description = "Fine-tune from this checkpoint (same architecture and widths): its trunk, and its head where it fits the task (a class-embedding head of the same width; a logit head of the same dataset); other heads are re-initialised from --seed.", HelpName = "CHECKPOINT" };
        var imageSize = new Option<int>("--image-size") { Description = "Input size (28×28 images are padded to 32×32 for CIFAR-style ResNets).", DefaultValueFactory = _ => 32, HelpName = "PIXELS" };
        var state = new Option<string?>("--state")
        {
            Description = "Keep the training state (weights, optimiser, step, generators) in FILE, written at every epoch's end and every --state-every steps; when FILE exists, training resumes from it (same options only) and ends with the weights an uninterrupted run would.",
            HelpName = "FILE",
        };
        var stateEvery = new Option<long?>("--state-every") { Description = "With --state: also write the state after every N steps. [default: at epochs' ends only]", HelpName = "N" };
        var stopAfter = new Option<long?>("--stop-after") { Description = "With --state: stop after N steps of this run, the state written and no checkpoint (run the same command again to continue).", HelpName = "N" };
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var command = new Command("train", "Train a model of a registered architecture on a task (dataset and classes) from a seed.")
        {
            variant, data, output, seed, init, embeddings, trainImages, imageSize, state, stateEvery, stopAfter, maxMemory, json, CommonOptions.Device(),
        };
        foreach (var option in recipe.All) command.Options.Add(option);
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var limit = CommonOptions.MaxMemoryBytes(ctx.Value(maxMemory));
            var options = new TrainOptions
            {
                Variant = ctx.Value(variant)!,
                Settings = CommonOptions.ArchSettings(ctx.Value(GlobalOptions.ArchSettings) ?? []),
                Task = TaskOf(ctx.Value(data)!),
                Seed = ctx.Value(seed),
                Recipe = recipe.Read(ctx),
                EmbeddingsFile = ctx.Value(embeddings),
                TrainImages = ctx.Value(trainImages),
                ImageSize = ctx.Value(imageSize),
                Init = ctx.Value(init),
            };
            var statePath = ctx.Value(state);
            if (statePath is null && (ctx.Value(stateEvery) is not null || ctx.Value(stopAfter) is not null))
                throw ZipItException.Usage($"{(ctx.Value(stateEvery) is not null ? "--state-every" : "--stop-after")} needs --state FILE (where the state is kept)");
            if (ctx.Value(stateEvery) is < 1) throw ZipItException.Usage($"--state-every must be at least 1 step, got {ctx.Value(stateEvery)}");
            if (ctx.Value(stopAfter) is < 1) throw ZipItException.Usage($"--stop-after must be at least 1 step, got {ctx.Value(stopAfter)}");
            OutputGuard.RequireDistinct([new("--class-embeddings", options.EmbeddingsFile), new("--init", options.Init)],
                [new("--output", ctx.Value(output)), new("--state", statePath)]);
            OutputGuard.RequireWritable("--output", ctx.Value(output)!);
            if (statePath is not null)
            {
                if (Directory.Exists(statePath)) throw ZipItException.Usage($"--state {statePath} is a folder; give a file");
                OutputGuard.RequireWritable("--state", statePath);
            }
            var stateOptions = statePath is null ? null : new TrainStateOptions(statePath, ctx.Value(stateEvery), ctx.Value(stopAfter));
            var result = TrainingRun.Run(ctx.Plugins, options, ctx.Value(output)!, ctx.Device, ctx.Logger, ctx.Progress, ctx.CancellationToken, limit, stateOptions);
            if (result is null)
            {
                var (step, total) = TrainState.Progress(statePath!);
                if (ctx.Value(json)) Json.Write(ctx.Out, new { output = (string?)null, stopped = true, state = statePath, step, totalSteps = total });
                else ctx.Out.WriteLine($"stopped after {ctx.Value(stopAfter)} steps, at step {step} of {total}; the state is in {statePath} (run the same command again to continue)");
                return 0;
            }
            if (ctx.Value(json)) Json.Write(ctx.Out, new { output = ctx.Value(output), result });
            else ctx.Out.WriteLine($"{ctx.Value(output)}: validation accuracy {result.ValidationAccuracy:P2} ({result.Images} images × {result.Epochs} epochs in {result.Seconds:0.0} s, {result.TrainImagesPerSecond:0} images/s)");
            return 0;
        })));
        return command.WithExamples(
            "dotnet zipit train resnet20 --data fashion-mnist:0-4 --arch-set width=4 --seed 1 -o a.safetensors",
            "dotnet zipit train vit_pico_patch4_32 --data my-images/ --epochs 10 -o vit.safetensors");
    }

    /// <summary>
    /// The training task a <c>--data</c> source names: a dataset spec's or folder's classes, whose
    /// train split is trained on and whose held-out part validates (so another split is refused).
    /// </summary>
    private static string TaskOf(string text)
    {
        var source = DataSource.Parse(text, "--data");
        if (source.Kind == DataSourceKind.TensorFile)
            throw ZipItException.Usage($"--data {text}: train reads a dataset spec or an image folder, not a tensor file (it needs a train split and a held-out part)");
        if (source.Split is { } split && split != DataSplit.Train)
            throw ZipItException.Usage($"--data {text}: train trains on the train split and validates on the part it holds out; drop ':{split.ToString().ToLowerInvariant()}'");
        return source.Classes is null ? source.Location : $"{source.Location}:{TaskSpec.FormatClasses(source.Classes)}";
    }
}
