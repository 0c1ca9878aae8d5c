using TorchSharp;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using static TorchSharp.torch;

namespace ZipIt.Engine.Evaluate;

/// <summary>The evaluation of one model or ensemble, shared by <c>evaluate</c> and <c>merge</c>.</summary>
internal static class EvaluationStage
{
    public static EvaluationResult Run(string label, IReadOnlyList<LoadedModel> models, TensorDataset dataset, int batchSize,
        IReadOnlyList<EvaluationTask> tasks, HeadKind head, Tensor? embeddings, Func<Tensor, IReadOnlyList<Tensor>> forward,
        CancellationToken cancellation, out Dictionary<string, long> counts, ProgressDisplay? progress = null)
    {
        var counter = new AccuracyCounter(tasks, head, embeddings);
        using (torch.no_grad())
        {
            (progress ?? ProgressDisplay.Off).Over($"evaluate {label}", dataset.Batches(batchSize), ProgressDisplay.Batches(dataset.Count, batchSize), batches =>
            {
                foreach (var (batch, labels) in batches)
                {
                    cancellation.ThrowIfCancellationRequested();
                    using var scope = torch.NewDisposeScope();
                    // Labels and class embeddings are on the CPU; logits are small.
                    counter.Add(forward(batch).Select(o => o.device_type == DeviceType.CPU ? o : o.cpu()).ToList(), labels!);
                }
                return 0;
            });
        }
        var flops = Flops(models.SelectMany(m => m.Modules).ToList(), x => forward(x), dataset);
        var (joint, perTask, avg) = counter.Result();
        counts = counter.Counts().ToDictionary(kv => kv.Key, kv => kv.Value);
        var heads = models.Count > 1 ? models.Count : Math.Max(1, models[0].Heads.Count);
        return new EvaluationResult(label, models.Select(m => m.Name).ToList(), heads, flops, joint, perTask, avg);
    }

    /// <summary>
    /// Each single-head model on its own and the ensemble of them all (model i answers task i),
    /// from one pass over <paramref name="dataset"/>: every model runs once per batch and its
    /// outputs count for its own row and for the ensemble's. Returns one result per model, in
    /// order, then the ensemble's.
    /// </summary>
    public static IReadOnlyList<EvaluationResult> RunEachAndEnsemble(IReadOnlyList<string> labels, string ensembleLabel, IReadOnlyList<LoadedModel> models,
        TensorDataset dataset, int batchSize, IReadOnlyList<EvaluationTask> tasks, HeadKind head, Tensor? embeddings,
        CancellationToken cancellation, out Dictionary<string, long> counts, ProgressDisplay? progress = null)
    {
        if (labels.Count != models.Count) throw new ArgumentException("one label per model is needed", nameof(labels));
        var counters = models.Select(_ => new AccuracyCounter(tasks, head, embeddings)).Append(new AccuracyCounter(tasks, head, embeddings)).ToList();
        using (torch.no_grad())
        {
            (progress ?? ProgressDisplay.Off).Over($"evaluate {string.Join(", ", labels)} and {ensembleLabel}", dataset.Batches(batchSize),
                ProgressDisplay.Batches(dataset.Count, batchSize), batches =>
                {
                    foreach (var (batch, labelsOfBatch) in batches)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        using var scope = torch.NewDisposeScope();
                        var outputs = models.Select(m => m.Forward(batch)[0]).Select(o => o.device_type == DeviceType.CPU ? o : o.cpu()).ToList();
                        for (var i = 0; i < models.Count; i++) counters[i].Add([outputs[i]], labelsOfBatch!);
                        counters[^1].Add(outputs, labelsOfBatch!);
                    }
                    return 0;
                });
        }
        var results = new List<EvaluationResult>();
        for (var i = 0; i <= models.Count; i++)
        {
            var members = i < models.Count ? [models[i]] : models;
            var flops = members.Sum(m => Flops(m.Modules, x => m.Forward(x), dataset));
            var (joint, perTask, avg) = counters[i].Result();
            results.Add(new EvaluationResult(i < models.Count ? labels[i] : ensembleLabel, members.Select(m => m.Name).ToList(),
                members.Count, flops, joint, perTask, avg));
        }
        counts = counters[^1].Counts().ToDictionary(kv => kv.Key, kv => kv.Value);
        return results;
    }

    /// <summary>Multiply-accumulates per image of <paramref name="forward"/> through <paramref name="modules"/>.</summary>
    private static long Flops(IReadOnlyList<nn.Module> modules, Action<Tensor> forward, TensorDataset dataset) =>
        // Two copies of one image, halved: a batch of one sends libtorch's convolutions down its
        // NNPACK path, which prints a warning per layer on CPUs it does not support.
        FlopCounter.Count(modules, () =>
        {
            using var scope = torch.NewDisposeScope();
            forward(dataset.Images.narrow(0, 0, 1).repeat(2, 1, 1, 1));
        }) / 2;
}
