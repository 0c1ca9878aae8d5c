using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using TorchSharp;
using ZipIt.Engine.Runtime;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Engine.Train;

/// <summary>What a finished training run measured.</summary>
internal sealed record TrainResult(long Images, int Epochs, double Loss, double TrainAccuracy, double ValidationAccuracy,
    double Seconds, double TrainImagesPerSecond, double EvalImagesPerSecond);

/// <summary>
/// Trains a freshly initialised model on one task by its <see cref="TrainingRecipe"/>: the
/// recipe's optimiser and schedule stepped per batch, seeded shuffling and augmentation, whole
/// batches as tensors. Clip heads score the unit-normalised output against the task's class
/// embeddings (scaled by the recipe's logit scale); logit heads use the task's classes of a
/// dataset-wide output. Both use cross-entropy over the task's classes only.
/// </summary>
internal static class Trainer
{
    /// <param name="lowPrecision">For bf16 training: a bfloat16 model of the same configuration that runs forward and backward; <paramref name="model"/> keeps the float32 master weights the optimiser updates.</param>
    /// <param name="state">Where the run keeps its resumable state (resumed from when the file exists); null: none.</param>
    /// <returns>What the run measured, or null when <see cref="TrainStateOptions.StopAfter"/> stopped it first (its state written).</returns>
    public static TrainResult? Run(StagedModel model, StagedModel? lowPrecision, TrainOptions options, DataTask task, Tensor? targets, Device device, ILogger logger,
        ProgressDisplay progress, CancellationToken cancellation, TrainStateOptions? state = null)
    {
        TorchRuntime.Initialize();
        var clock = Stopwatch.StartNew();
        var recipe = options.Recipe;
        var scale = recipe.LogitScale ?? throw new InvalidOperationException("the recipe's logit scale is not resolved");
        var transform = task.Transform(options.ImageSize);
        var flip = recipe.HorizontalFlip && task.Flip;
        var augmentation = recipe.CropPadding > 0 || flip ? new Augmentation(new Generator((ulong)options.Seed + 1), recipe.CropPadding, flip) : null;
        var shuffle = new Generator((ulong)options.Seed);
        using var set = Subset(task.Train, options.TrainImages, options.Seed);
        var n = set.Count;
        // Batches are cut, augmented and normalised on the CPU (seeded generators live there), then
        // moved: the same inputs on every device. On a GPU the copy is asynchronous from pinned
        // memory and the running loss and accuracy stay on the device, read only when shown, so the
        // CPU prepares the next batch while the GPU computes this one.
        var onGpu = device.type == DeviceType.CUDA;
        using var tf32 = TorchRuntime.AllowTf32(device);
        Tensor ToDevice(Tensor cpu) => onGpu ? cpu.pin_memory().to(device, non_blocking: true) : cpu;
        using var lookup = WithinTaskIndex(task.Classes).to(device);
        using var classIds = torch.tensor(task.Classes.ToArray()).to(device);
        var batch = (int)Math.Min(recipe.BatchSize, n);
        // The last, smaller batch of an epoch is dropped: BatchNorm statistics of a handful of images are noise.
        var stepsPerEpoch = n / batch;
        var totalSteps = (long)stepsPerEpoch * recipe.Epochs;
        using var optimizer = new RecipeOptimizer(model.parameters(), recipe, totalSteps);
        model.train();
        var mixed = lowPrecision is null ? null : new MixedPrecision(model, lowPrecision);
        var net = lowPrecision ?? model;

        double lastLoss = 0, lastAccuracy = 0;
        long seen = 0, step = 0;
        // Running sums of the epoch (float64 loss, int64 hits) on the compute device.
        using var lossSum = torch.zeros(1, ScalarType.Float64, device);
        using var correct = torch.zeros(1, ScalarType.Int64, device);
        var stateKey = JsonSerializer.Serialize(options, Json.Compact);
        var stateData = state is null ? "" : ModelFingerprint.Of([new("images", set.Images), new("labels", set.Labels)]);
        if (state is not null && File.Exists(state.Path))
        {
            using var saved = TrainState.Load(state.Path, stateKey, stateData, totalSteps, model, augmentation is not null);
            saved.Restore(model, optimizer, state.Path);
            mixed?.LoadMasterBuffers();
            step = saved.Step;
            seen = saved.Seen;
            shuffle.set_state(saved.Shuffle);
            if (augmentation is not null) augmentation.Generator.set_state(saved.Augmentation!);
            lossSum.copy_(saved.LossSum);
            correct.copy_(saved.Correct);
            logger.LogInformation("resuming from {State} at step {Step} of {Total} (epoch {Epoch})", state.Path, step, totalSteps,
                Math.Min(step / stepsPerEpoch + 1, recipe.Epochs));
        }
        var firstStep = step;
        var stopped = false;
        // The shuffling generator's state before this epoch's order was drawn: a state written
        // mid-epoch draws the same order again when resumed.
        Tensor? epochShuffle = null;
        (double Loss, double Accuracy) EpochFigures() =>
            seen > 0 ? (lossSum.item<double>() / seen, (double)correct.item<long>() / seen) : (double.NaN, double.NaN);
        var trainClock = Stopwatch.StartNew();
        progress.Run($"training {task.Name}", totalSteps, bar =>
        {
            for (var epoch = (int)(step / stepsPerEpoch) + 1; epoch <= recipe.Epochs && !stopped; epoch++)
            {
                var start = (int)(step % stepsPerEpoch);
                if (start == 0) { lossSum.zero_(); correct.zero_(); seen = 0; }
                var shown = "";
                epochShuffle?.Dispose();
                epochShuffle = shuffle.get_state();
                using var order = torch.randperm(n, generator: shuffle);
                for (var b = start; b < stepsPerEpoch; b++)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    var idx = order.narrow(0, (long)b * batch, batch);
                    var x = ToDevice(transform.Apply(set.Images.index_select(0, idx), augmentation));
                    var y = lookup.index_select(0, ToDevice(set.Labels.index_select(0, idx)));
                    mixed?.LoadMasterWeights();
                    var output = mixed is null ? net.call(x) : net.call(x.to(ScalarType.BFloat16)).to(ScalarType.Float32);
                    var logits = Logits(output, recipe.Head, scale, targets, classIds);
                    var loss = nn.functional.cross_entropy(logits, y, label_smoothing: recipe.LabelSmoothing);
                    if (mixed is null) optimizer.ZeroGrad(); else net.zero_grad();
                    loss.backward();
                    mixed?.StoreGradients();
                    optimizer.Step(step);
                    step++;
                    using (torch.no_grad())
                    {
                        lossSum.add_(loss.detach().to(ScalarType.Float64), alpha: batch);
                        correct.add_(logits.argmax(1).eq(y).sum());
                    }
                    seen += batch;
                    // Reading the sums waits for the GPU: every 25 steps and at the epoch's end only.
                    if (!onGpu || step % 25 == 0 || b == stepsPerEpoch - 1)
                        shown = $" loss {lossSum.item<double>() / seen:0.000} acc {100.0 * correct.item<long>() / seen:0.0}%";
                    bar.Report(step, $"{task.Name} epoch {epoch}/{recipe.Epochs}{shown}");
                    if (state is null) continue;
                    var atEpochEnd = b == stepsPerEpoch - 1;
                    stopped = state.StopAfter is { } limit && step - firstStep >= limit && step < totalSteps;
                    if (atEpochEnd || stopped || state.Every is { } every && step % every == 0)
                    {
                        mixed?.StoreBuffers();
                        using var shuffleState = atEpochEnd ? shuffle.get_state() : epochShuffle.clone();
                        TrainState.Save(state.Path, stateKey, stateData, model, optimizer, step, totalSteps, seen, shuffleState, augmentation?.Generator, lossSum, correct);
                    }
                    if (stopped) break;
                }
                if (stopped) break;
                (lastLoss, lastAccuracy) = EpochFigures();
                var rate = (step - firstStep) * batch / trainClock.Elapsed.TotalSeconds;
                var eta = DurationText.Format((totalSteps - step) * batch / Math.Max(rate, 1e-9));
                logger.LogInformation("{Task} epoch {Epoch}/{Epochs}: loss {Loss:0.000}, train accuracy {Accuracy:P1}, {Rate:0} images/s, ETA {Eta}",
                    task.Name, epoch, recipe.Epochs, lastLoss, lastAccuracy, rate, eta);
            }
            return 0;
        });
        epochShuffle?.Dispose();
        if (stopped)
        {
            logger.LogInformation("stopped after {Steps} steps, at step {Step} of {Total}; the state to resume from is in {State}", step - firstStep, step, totalSteps, state!.Path);
            return null;
        }
        // Also when a finished state was resumed and no step was left.
        (lastLoss, lastAccuracy) = EpochFigures();
        var trainSeconds = trainClock.Elapsed.TotalSeconds;
        mixed?.StoreBuffers();

        var evalClock = Stopwatch.StartNew();
        var validation = Accuracy(model, task.Validation, transform, options, targets, lookup, classIds, cancellation);
        var evalRate = task.Validation.Count / Math.Max(evalClock.Elapsed.TotalSeconds, 1e-9);
        return new TrainResult(n, recipe.Epochs, lastLoss, lastAccuracy, validation, clock.Elapsed.TotalSeconds,
            (step - firstStep) * batch / Math.Max(trainSeconds, 1e-9), evalRate);
    }

    /// <summary>Accuracy over the task's classes on <paramref name="set"/>, in eval mode, batches of 500.</summary>
    public static double Accuracy(StagedModel model, ImageSet set, ImageTransform transform, TrainOptions options, Tensor? targets,
        Tensor lookup, Tensor classIds, CancellationToken cancellation)
    {
        if (set.Count == 0) return double.NaN;
        model.eval();
        long correct = 0;
        using (torch.no_grad())
        {
            for (long start = 0; start < set.Count; start += 500)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                var length = Math.Min(500, set.Count - start);
                var x = transform.Apply(set.Images.narrow(0, start, length)).to(lookup.device);
                var y = lookup.index_select(0, set.Labels.narrow(0, start, length).to(lookup.device));
                // A positive logit scale does not move the argmax.
                correct += Logits(model.call(x), options.Recipe.Head, 1, targets, classIds).argmax(1).eq(y).sum().item<long>();
            }
        }
        model.train();
        return (double)correct / set.Count;
    }

    private static Tensor Logits(Tensor output, TrainHead head, double scale, Tensor? targets, Tensor classIds)
    {
        if (head == TrainHead.Clip)
            return nn.functional.normalize(output, dim: 1).mm(targets!.t()).mul(scale);
        if (output.shape[1] <= classIds.max().item<long>())
            throw new InvalidOperationException($"the model has {output.shape[1]} outputs; class {classIds.max().item<long>()} needs more");
        return output.index_select(1, classIds);
    }

    /// <summary>Dataset class id → index within the task (−1 for classes outside it).</summary>
    public static Tensor WithinTaskIndex(IReadOnlyList<long> classes)
    {
        var lookup = torch.full(classes.Max() + 1, -1L, ScalarType.Int64);
        for (var i = 0; i < classes.Count; i++) lookup[classes[i]] = torch.tensor((long)i);
        return lookup;
    }

    private static ImageSet Subset(ImageSet set, long? count, long seed)
    {
        if (count is not { } k || k >= set.Count) return set.Select(torch.arange(set.Count));
        using var order = torch.randperm(set.Count, generator: new Generator((ulong)seed + 2));
        using var chosen = order.narrow(0, 0, k).sort().Values;
        return set.Select(chosen);
    }
}
