using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TorchSharp;
using static TorchSharp.torch;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.Plugins;
using ZipIt.Engine.Core;
using ZipIt.Engine.Collect;

namespace ZipIt.Engine.Train;

/// <summary>
/// One training run from options to checkpoint: configure the variant (a clip head's width is the
/// embedding dimension, a logit head's the dataset's class count), initialise from the seed, train,
/// and write a safetensors checkpoint whose metadata records what it is and how it was made.
/// </summary>
internal static class TrainingRun
{
    public const string TaskKey = MetadataKeys.Task;
    public const string ClassesKey = MetadataKeys.Classes;
    public const string ClassNamesKey = MetadataKeys.ClassNames;
    public const string HeadKey = MetadataKeys.Head;
    public const string EmbeddingKey = MetadataKeys.Embedding;
    public const string SeedKey = MetadataKeys.Seed;
    public const string TrainingKey = MetadataKeys.Training;

    /// <param name="state">Where the run keeps its resumable state (<c>train --state</c>); null: none.</param>
    /// <returns>What training measured, or null when <see cref="TrainStateOptions.StopAfter"/> stopped it before the end (nothing written but the state).</returns>
    public static TrainResult? Run(PluginCatalog plugins, TrainOptions options, string output, Device device, ILogger logger, ProgressDisplay progress,
        CancellationToken cancellation, long? maxMemory = null, TrainStateOptions? state = null)
    {
        options = options.Resolved();
        var recipe = options.Recipe;
        recipe.Validate(device);
        if (options.TrainImages is < 2) throw ZipItException.Usage($"--train-images must be at least 2, got {options.TrainImages}");
        if (options.ImageSize is < 1 or > 4096) throw ZipItException.Usage($"--image-size must be between 1 and 4096 pixels, got {options.ImageSize}");
        if (recipe.Head == TrainHead.Clip && recipe.EmbeddingDimension < 2)
            throw ZipItException.Usage($"--embedding-dim must be at least 2, got {recipe.EmbeddingDimension}");
        plugins.ArchitectureOfVariant(options.Variant); // an unknown variant fails before the dataset is read
        using var task = DataTask.Open(TaskSpec.Parse(options.Task));
        if (task.Train.Count < 2) throw ZipItException.Input($"task {task.Name} has {task.Train.Count} training images; at least 2 are needed");
        var settings = new Dictionary<string, string>(options.Settings, StringComparer.OrdinalIgnoreCase);
        var outputs = recipe.Head == TrainHead.Clip ? recipe.EmbeddingDimension : task.Train.ClassNames.Count;
        if (settings.TryGetValue("classes", out var given) && given != outputs.ToString(CultureInfo.InvariantCulture))
            throw ZipItException.Usage($"--arch-set classes={given} contradicts the head: it needs {outputs} outputs");
        settings["classes"] = outputs.ToString(CultureInfo.InvariantCulture);
        var (architecture, config) = plugins.Configure(options.Variant, settings);

        long[] image = [task.Train.Channels, options.ImageSize, options.ImageSize];
        var what = $"training {config}";
        // Weights, optimiser and images first (counted on the meta device), then with one blank image's activations.
        MemoryEstimate.RequireAvailable(TrainingMemory.Estimate(MemoryEstimate.StateBytes(architecture, config) ?? 0, null, task, recipe, image), what, maxMemory);
        TorchRuntime.Initialize();
        torch.manual_seed(options.Seed);
        // Initialised on the CPU (the same weights for a seed whatever the device), then moved.
        using var model = architecture.Create(config);
        var init = options.Init is { } from ? InitialWeights.Apply(plugins, from, model, architecture, config, recipe.Head, task.Name) : null;
        if (init is not null)
            logger.LogInformation("starting from {File} ({Config}); its head is {Head}", init.File, init.Config, init.HeadKept ? "kept" : "re-initialised");
        // bf16 steps run on a bfloat16 copy of the model; the float32 model holds the master weights.
        using var lowPrecision = recipe.Precision == TrainPrecision.Bf16 ? architecture.Create(config) : null;
        model.to(device);
        lowPrecision?.to(ScalarType.BFloat16).to(device);
        MemoryEstimate.RequireAvailable(TrainingMemory.Estimate(MemoryEstimate.Bytes(model) + (lowPrecision is null ? 0 : MemoryEstimate.Bytes(lowPrecision)),
            ForwardFootprint.Probe(model, device, [], image), task, recipe, image), what, maxMemory);
        using var cpuTargets = recipe.Head != TrainHead.Clip ? null
            : options.EmbeddingsFile is { } file ? ClassEmbeddings.FromFile(file, task.Classes)
            : ClassEmbeddings.FromNames(task.ClassNames, recipe.EmbeddingDimension);
        using var targets = cpuTargets?.to(device);
        if (targets is not null && targets.shape[1] != recipe.EmbeddingDimension)
            throw ZipItException.Input($"{options.EmbeddingsFile}: embeddings have {targets.shape[1]} dimensions, --embedding-dim is {recipe.EmbeddingDimension}");
        logger.LogInformation("training {Config} on {Task} ({Images} images, {Classes} classes) for {Epochs} epochs, seed {Seed}",
            config, task.Name, options.TrainImages is { } k ? Math.Min(k, task.Train.Count) : task.Train.Count, task.Classes.Count, recipe.Epochs, options.Seed);
        var result = Trainer.Run(model, lowPrecision, options, task, targets, device, logger, progress, cancellation, state);
        if (result is null) return null;
        logger.LogInformation("{Task}: validation accuracy {Accuracy:P2}; {Rate:0} training images/s, {EvalRate:0} evaluation images/s, {Seconds:0.0} s",
            task.Name, result.ValidationAccuracy, result.TrainImagesPerSecond, result.EvalImagesPerSecond, result.Seconds);

        var metadata = ArchitectureMetadata.For(config);
        metadata["format"] = "pt";
        metadata[TaskKey] = task.Name;
        metadata[ClassesKey] = JsonSerializer.Serialize(task.Classes);
        metadata[ClassNamesKey] = JsonSerializer.Serialize(task.ClassNames);
        metadata[MetadataKeys.Preprocess] = task.Preprocessing(options.ImageSize).ToJson();
        metadata[HeadKey] = recipe.Head.ToString().ToLowerInvariant();
        metadata[EmbeddingKey] = recipe.Head != TrainHead.Clip ? "none"
            : options.EmbeddingsFile is { } f ? $"file:{Path.GetFileName(f)}" : $"class-name-hash:{recipe.EmbeddingDimension}";
        metadata[SeedKey] = options.Seed.ToString(CultureInfo.InvariantCulture);
        if (init is not null) metadata[MetadataKeys.InitializedFrom] = init.ToJson();
        metadata[TrainingRecipe.MetadataKey] = recipe.ToJson();
        metadata[TrainingKey] = JsonSerializer.Serialize(new { options, result }, Json.Compact);
        model.to(torch.CPU);
        CheckpointWriter.WriteFile(output, model.state_dict(), metadata);
        return result;
    }
}
