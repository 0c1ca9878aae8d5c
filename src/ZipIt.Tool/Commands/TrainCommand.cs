using ZipIt.Checkpoints;
using System.CommandLine;
using ZipIt.Output;
using ZipIt.Train;
using ZipIt.Hosting;

namespace ZipIt.Commands;

/// <summary><c>train VARIANT --task DATASET:CLASSES -o FILE</c>: trains a model of any registered variant on a task from a seed.</summary>
internal static class TrainCommand
{
    public static Command Create(CommandRunner runner)
    {
        var variant = new Argument<string>("variant") { Description = "A registered variant (see 'plugins list'), e.g. resnet20." };
        var task = new Option<string>("--task") { Description = "DATASET[:CLASSES], e.g. fashion-mnist:0-4 or mnist:all (a known dataset or a folder).", Required = true, HelpName = "TASK" };
        var output = new Option<string>("--output", "-o") { Description = "Checkpoint to write (.safetensors).", Required = true, HelpName = "FILE" };
        var set = new Option<string[]>("--set") { Description = "An architecture setting as name=value, e.g. width=4 or norm=gn. Repeatable.", Arity = ArgumentArity.OneOrMore, HelpName = "NAME=VALUE" };
        var seed = new Option<long>("--seed") { Description = "Seed of initialisation, shuffling and augmentation.", DefaultValueFactory = _ => 0 };
        var recipe = new RecipeOptions(new TrainingRecipe(), withHead: true);
        var embeddings = new Option<string?>("--class-embeddings") { Description = "Class embeddings (tensor 'embeddings' [K, D], row = class id); default: seeded unit vectors from the class names.", HelpName = "FILE" };
        var trainImages = new Option<long?>("--train-images") { Description = "Train on a seeded draw of at most N images of the training split.", HelpName = "N" };
        var init = new Option<string?>("--init") { Description = "Fine-tune from this checkpoint (same architecture and widths): its trunk, and its head where it fits the task (a class-embedding head of the same width; a logit head of the same dataset); other heads are re-initialised from --seed.", HelpName = "CHECKPOINT" };
        var imageSize = new Option<int>("--image-size") { Description = "Input size (28×28 images are padded to 32×32 for CIFAR-style ResNets).", DefaultValueFactory = _ => 32, HelpName = "PIXELS" };
        var json = CommonOptions.Json();
        var maxMemory = CommonOptions.MaxMemory();
        var command = new Command("train", "Train a model of a registered architecture on a task (dataset and classes) from a seed.")
        {
            variant, task, output, set, seed, init, embeddings, trainImages, imageSize, maxMemory, json, CommonOptions.Device(),
        };
        foreach (var option in recipe.All) command.Options.Add(option);
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var limit = CommonOptions.MaxMemoryBytes(ctx.Value(maxMemory));
            var options = new TrainOptions
            {
                Variant = ctx.Value(variant)!,
                Settings = CommonOptions.Settings(ctx.Value(set) ?? []),
                Task = ctx.Value(task)!,
                Seed = ctx.Value(seed),
                Recipe = recipe.Read(ctx),
                EmbeddingsFile = ctx.Value(embeddings),
                TrainImages = ctx.Value(trainImages),
                ImageSize = ctx.Value(imageSize),
                Init = ctx.Value(init),
            };
            OutputGuard.RequireDistinct([new("--class-embeddings", options.EmbeddingsFile), new("--init", options.Init)], [new("--output", ctx.Value(output))]);
            var result = TrainingRun.Run(ctx.Plugins, options, ctx.Value(output)!, ctx.Device, ctx.Logger, ctx.Progress, ctx.CancellationToken, limit);
            if (ctx.Value(json)) Json.Write(ctx.Out, new { output = ctx.Value(output), result });
            else ctx.Out.WriteLine($"{ctx.Value(output)}: validation accuracy {result.ValidationAccuracy:P2} ({result.Images} images × {result.Epochs} epochs in {result.Seconds:0.0} s, {result.TrainImagesPerSecond:0} images/s)");
            return 0;
        })));
        return command;
    }
}
