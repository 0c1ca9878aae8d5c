using System.CommandLine;
using ZipIt.Cli;
using ZipIt.Output;
using ZipIt.Train;

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
        var defaults = new TrainOptions { Variant = "", Task = "" };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training split.", DefaultValueFactory = _ => defaults.Epochs };
        var batchSize = new Option<int>("--batch-size") { Description = "Images per step.", DefaultValueFactory = _ => defaults.BatchSize, HelpName = "N" };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
        var momentum = new Option<double>("--momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => defaults.Momentum };
        var weightDecay = new Option<double>("--weight-decay") { Description = "SGD weight decay.", DefaultValueFactory = _ => defaults.WeightDecay };
        var schedule = new Option<LearningRateSchedule>("--schedule") { Description = "Warm-up then linear (one-cycle) or cosine decay.", DefaultValueFactory = _ => defaults.Schedule };
        var head = new Option<TrainHead>("--head") { Description = "clip: output scored against class embeddings (a space shared across tasks); logits: one output per class.", DefaultValueFactory = _ => defaults.Head };
        var dim = new Option<int>("--embedding-dim") { Description = "Width of a clip head's output.", DefaultValueFactory = _ => defaults.EmbeddingDimension, HelpName = "D" };
        var embeddings = new Option<string?>("--class-embeddings") { Description = "Class embeddings (tensor 'embeddings' [K, D], row = class id); default: seeded unit vectors from the class names.", HelpName = "FILE" };
        var scale = new Option<double>("--logit-scale") { Description = "Clip heads: the logits are this times the cosine (the reference's 100).", DefaultValueFactory = _ => defaults.Scale, HelpName = "S" };
        var trainImages = new Option<long?>("--train-images") { Description = "Train on a seeded draw of at most N images of the training split.", HelpName = "N" };
        var imageSize = new Option<int>("--image-size") { Description = "Input size (28×28 images are padded to 32×32 for CIFAR-style ResNets).", DefaultValueFactory = _ => defaults.ImageSize, HelpName = "PIXELS" };
        var noAugment = new Option<bool>("--no-augment") { Description = "Train without random crops and flips." };
        var json = CommonOptions.Json();
        var command = new Command("train", "Train a model of a registered architecture on a task (dataset and classes) from a seed.")
        {
            variant, task, output, set, seed, epochs, batchSize, lr, momentum, weightDecay, schedule, head, dim, embeddings, scale, trainImages, imageSize, noAugment, json, CommonOptions.Device(),
        };
        command.SetAction((parse, ct) => Task.FromResult(runner.Run(parse, ct, ctx =>
        {
            var options = new TrainOptions
            {
                Variant = ctx.Value(variant)!,
                Settings = CommonOptions.Settings(ctx.Value(set) ?? []),
                Task = ctx.Value(task)!,
                Seed = ctx.Value(seed),
                Epochs = ctx.Value(epochs),
                BatchSize = ctx.Value(batchSize),
                LearningRate = ctx.Value(lr),
                Momentum = ctx.Value(momentum),
                WeightDecay = ctx.Value(weightDecay),
                Schedule = ctx.Value(schedule),
                Head = ctx.Value(head),
                EmbeddingDimension = ctx.Value(dim),
                EmbeddingsFile = ctx.Value(embeddings),
                Scale = ctx.Value(scale),
                TrainImages = ctx.Value(trainImages),
                ImageSize = ctx.Value(imageSize),
                Augment = !ctx.Value(noAugment),
            };
            OutputGuard.RequireDistinct([new("--class-embeddings", options.EmbeddingsFile)], [new("--output", ctx.Value(output))]);
            var result = TrainingRun.Run(ctx.Plugins, options, ctx.Value(output)!, ctx.Logger, ctx.Error, ctx.ShowProgress, ctx.CancellationToken);
            if (ctx.Value(json)) Json.Write(ctx.Out, new { output = ctx.Value(output), result });
            else ctx.Out.WriteLine($"{ctx.Value(output)}: validation accuracy {result.ValidationAccuracy:P2} ({result.Images} images × {result.Epochs} epochs in {result.Seconds:0.0} s, {result.TrainImagesPerSecond:0} images/s)");
            return 0;
        })));
        return command;
    }
}
