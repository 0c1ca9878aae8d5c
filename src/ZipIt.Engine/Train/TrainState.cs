using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Engine.Train;

/// <summary>
/// Everything a training run needs to continue exactly where it stopped (<c>train --state</c>): the
/// weights and BatchNorm buffers, the optimiser's buffers, the step, the seeded generators and the
/// epoch's running sums, in one safetensors file. A run resumed from it takes the same steps on the
/// same batches as one that never stopped, so it ends with the same weights. The options that made
/// the state and the fingerprint of the training images are recorded, and a state is only resumed by
/// a run with the same options on the same images (a dataset folder edited between sittings would
/// otherwise continue on other data without a word).
/// </summary>
internal sealed class TrainState : IDisposable
{
    /// <summary>The metadata key of the state's description (format version, step, options).</summary>
    public const string MetadataKey = "zipit.train_state";
    private const int Version = 1;
    private const string ModelPrefix = "model/";
    private const string OptimizerPrefix = "optimizer/";
    private const string ShuffleTensor = "rng/shuffle";
    private const string AugmentationTensor = "rng/augmentation";
    private const string LossTensor = "epoch/loss_sum";
    private const string CorrectTensor = "epoch/correct";

    private readonly Dictionary<string, Tensor> _model;
    private readonly Dictionary<string, Tensor> _optimizer;

    private TrainState(long step, long seen, Dictionary<string, Tensor> model, Dictionary<string, Tensor> optimizer, Tensor shuffle, Tensor? augmentation, Tensor lossSum, Tensor correct)
    {
        Step = step;
        Seen = seen;
        _model = model;
        _optimizer = optimizer;
        Shuffle = shuffle;
        Augmentation = augmentation;
        LossSum = lossSum;
        Correct = correct;
    }

    /// <summary>Optimiser steps taken so far.</summary>
    public long Step { get; }
    /// <summary>Images counted in <see cref="LossSum"/> and <see cref="Correct"/>, the running sums of the latest epoch.</summary>
    public long Seen { get; }
    /// <summary>The shuffling generator's state when the epoch in progress drew its order (or, at an epoch's end, the next one will).</summary>
    public Tensor Shuffle { get; }
    public Tensor? Augmentation { get; }
    public Tensor LossSum { get; }
    public Tensor Correct { get; }

    /// <summary>
    /// Writes the state of a run at <paramref name="step"/> to <paramref name="path"/> (atomically:
    /// a reader sees the previous state or this one, never a part).
    /// </summary>
    public static void Save(string path, string options, string data, nn.Module model, RecipeOptimizer optimizer, long step, long totalSteps, long seen,
        Tensor shuffle, Generator? augmentation, Tensor lossSum, Tensor correct)
    {
        using var scope = NewDisposeScope();
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (key, value) in model.state_dict()) tensors.Add(new(ModelPrefix + key, value.detach().cpu()));
        foreach (var (key, value) in optimizer.StateTensors()) tensors.Add(new(OptimizerPrefix + key, value));
        tensors.Add(new(ShuffleTensor, shuffle));
        if (augmentation is not null) tensors.Add(new(AugmentationTensor, augmentation.get_state()));
        tensors.Add(new(LossTensor, lossSum.cpu()));
        tensors.Add(new(CorrectTensor, correct.cpu()));
        var description = new JsonObject
        {
            ["version"] = Version,
            ["step"] = step,
            ["total_steps"] = totalSteps,
            ["seen"] = seen,
            ["options"] = JsonNode.Parse(options),
            ["data"] = data,
        };
        CheckpointWriter.WriteFile(path, tensors, new Dictionary<string, string> { [MetadataKey] = description.ToJsonString(Json.Compact) });
    }

    /// <summary>
    /// The state in <paramref name="path"/>, or exit 3 (one line) when it is not a training state of
    /// this run: another format, another run's options (the first field that differs is named), other
    /// training images (<paramref name="data"/>, their fingerprint), or weights that do not fit <paramref name="model"/>.
    /// </summary>
    public static TrainState Load(string path, string options, string data, long totalSteps, nn.Module model, bool hasAugmentation)
    {
        var name = Path.GetFileName(path);
        using var file = Checkpoint.Open(path);
        if (!file.Metadata.TryGetValue(MetadataKey, out var text))
            throw ZipItException.Input($"--state {name} is not a zipit training state (no '{MetadataKey}' metadata); give another file or remove it");
        JsonObject description;
        try { description = JsonNode.Parse(text)?.AsObject() ?? throw new JsonException("null"); }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw ZipItException.Input($"--state {name}: its '{MetadataKey}' metadata is not valid JSON");
        }
        if (description["version"]?.GetValue<int>() is not Version)
            throw ZipItException.Input($"--state {name} has format version {description["version"]?.ToJsonString() ?? "(none)"}; this zipit reads version {Version}");
        var difference = FirstDifference(description["options"], JsonNode.Parse(options), "");
        if (difference is not null)
            throw ZipItException.Input($"--state {name} was written by a run with other options ({difference}); give the same options to resume it, or another --state file");
        var recordedData = description["data"]?.GetValue<string>();
        if (recordedData is null)
            throw ZipItException.Input($"--state {name} does not record its training images (an earlier zipit wrote it), so resuming it cannot be checked; give another --state file");
        if (recordedData != data)
            throw ZipItException.Input($"--state {name} was written for other training images ({Short(recordedData)} ≠ {Short(data)}): the dataset changed since; give the same data to resume it, or another --state file");
        var step = description["step"]?.GetValue<long>() ?? -1;
        var seen = description["seen"]?.GetValue<long>() ?? -1;
        if (step < 0 || step > totalSteps || seen < 0 || description["total_steps"]?.GetValue<long>() != totalSteps)
            throw ZipItException.Input($"--state {name}: step {step} of {description["total_steps"]?.ToJsonString() ?? "?"} does not fit this run's {totalSteps} steps");

        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizer = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (key, target) in model.state_dict())
            {
                if (!file.Contains(ModelPrefix + key)) throw ZipItException.Input($"--state {name} has no tensor '{ModelPrefix + key}'");
                var value = file.Read(ModelPrefix + key);
                weights[key] = value;
                if (!value.shape.SequenceEqual(target.shape) || value.dtype != target.dtype)
                    throw ZipItException.Input($"--state {name}: '{ModelPrefix + key}' is {value.dtype} [{string.Join(", ", value.shape)}], the model needs {target.dtype} [{string.Join(", ", target.shape)}]");
            }
            foreach (var entry in file.Entries.Where(e => e.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)))
                optimizer[entry.Name[OptimizerPrefix.Length..]] = file.Read(entry.Name);
            foreach (var required in new[] { ShuffleTensor, LossTensor, CorrectTensor })
                if (!file.Contains(required)) throw ZipItException.Input($"--state {name} has no tensor '{required}'");
            if (hasAugmentation && !file.Contains(AugmentationTensor)) throw ZipItException.Input($"--state {name} has no tensor '{AugmentationTensor}'");
            var augmentation = hasAugmentation ? file.Read(AugmentationTensor) : null;
            return new TrainState(step, seen, weights, optimizer, file.Read(ShuffleTensor), augmentation, file.Read(LossTensor), file.Read(CorrectTensor));
        }
        catch
        {
            foreach (var t in weights.Values.Concat(optimizer.Values)) t.Dispose();
            throw;
        }
    }

    /// <summary>The step a state file has reached and the run's total, read from its metadata only.</summary>
    public static (long Step, long TotalSteps) Progress(string path)
    {
        using var file = Checkpoint.Open(path);
        var description = JsonNode.Parse(file.Metadata[MetadataKey])!;
        return (description["step"]!.GetValue<long>(), description["total_steps"]!.GetValue<long>());
    }

    /// <summary>Puts the weights, buffers and optimiser state back into <paramref name="model"/> and <paramref name="optimizer"/>.</summary>
    public void Restore(nn.Module model, RecipeOptimizer optimizer, string path)
    {
        using (torch.no_grad())
            foreach (var (key, target) in model.state_dict()) target.copy_(_model[key]);
        if (!optimizer.LoadState(_optimizer))
            throw ZipItException.Input($"--state {Path.GetFileName(path)}: its optimiser tensors do not fit this run's optimiser and parameters");
    }

    private static string Short(string fingerprint) => fingerprint[..Math.Min(fingerprint.Length, 19)] + "…";

    /// <summary>The path (e.g. <c>recipe.epochs: 20 ≠ 4</c>) of the first value that differs, or null when none does.</summary>
    private static string? FirstDifference(JsonNode? recorded, JsonNode? current, string path)
    {
        if (recorded is JsonObject a && current is JsonObject b)
        {
            foreach (var key in a.Select(p => p.Key).Union(b.Select(p => p.Key), StringComparer.Ordinal))
            {
                var d = FirstDifference(a[key], b[key], path.Length == 0 ? key : $"{path}.{key}");
                if (d is not null) return d;
            }
            return null;
        }
        var left = recorded?.ToJsonString() ?? "null";
        var right = current?.ToJsonString() ?? "null";
        return left == right ? null : $"{(path.Length == 0 ? "options" : path)}: {left} ≠ {right}";
    }

    public void Dispose()
    {
        foreach (var t in _model.Values.Concat(_optimizer.Values)) t.Dispose();
        Shuffle.Dispose();
        Augmentation?.Dispose();
        LossSum.Dispose();
        Correct.Dispose();
    }
}

/// <summary>Where and how often a run keeps its <see cref="TrainState"/>, and whether it stops early.</summary>
/// <param name="Path">The state file: resumed from when it exists, written at every epoch's end and every <paramref name="Every"/> steps.</param>
/// <param name="Every">Also write after every this many steps (null: at epochs' ends only).</param>
/// <param name="StopAfter">Stop after this many steps of this process, the state written (null: run to the end).</param>
internal sealed record TrainStateOptions(string Path, long? Every = null, long? StopAfter = null);
