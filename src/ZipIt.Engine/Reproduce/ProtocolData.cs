using TorchSharp;
using ZipIt.Engine.Data;
using ZipIt.Engine.Evaluate;
using ZipIt.Engine.Train;
using static TorchSharp.torch;

namespace ZipIt.Engine.Reproduce;

/// <summary>
/// The images of an experiment in one label space: each dataset's classes get consecutive global
/// ids (a second dataset's start after the first's), so tasks from different datasets can be
/// scored jointly. Holds the calibration set (half from each task's training split, augmented, as
/// the paper collects statistics), the validation set (for choosing hyper-parameters), the test
/// set, the class embeddings of every global class, and the evaluation tasks.
/// </summary>
internal sealed class ProtocolData : IDisposable
{
    private ProtocolData(IReadOnlyList<DataTask> tasks, IReadOnlyList<EvaluationTask> evaluationTasks, IReadOnlyList<string> classNames,
        Tensor embeddings, TensorDataset calibration, TensorDataset validation, TensorDataset test)
    {
        Tasks = tasks;
        EvaluationTasks = evaluationTasks;
        ClassNames = classNames;
        Embeddings = embeddings;
        Calibration = calibration;
        Validation = validation;
        Test = test;
    }

    public IReadOnlyList<DataTask> Tasks { get; }
    public IReadOnlyList<EvaluationTask> EvaluationTasks { get; }
    /// <summary>Names of the global classes, index = global id.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    public Tensor Embeddings { get; }
    public TensorDataset Calibration { get; }
    public TensorDataset Validation { get; }
    public TensorDataset Test { get; }

    public static ProtocolData Build(IReadOnlyList<string> taskSpecs, int calibration, long? validationImages, long? testImages,
        int embeddingDimension, int imageSize, long seed)
    {
        var tasks = taskSpecs.Select(s => DataTask.Open(TaskSpec.Parse(s))).ToList();
        var offsets = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        var names = new List<string>();
        foreach (var t in tasks)
        {
            if (offsets.ContainsKey(t.Spec.Dataset)) continue;
            offsets[t.Spec.Dataset] = names.Count;
            names.AddRange(t.Train.ClassNames);
        }
        var evaluationTasks = tasks.Select(t => new EvaluationTask(t.Name, t.Classes.Select(c => c + offsets[t.Spec.Dataset]).ToList())).ToList();
        var perTask = (calibration + tasks.Count - 1) / tasks.Count;
        var calibrationSet = Combine("calibration", tasks, t => t.Train, perTask, offsets, imageSize, seed, augment: true);
        var validation = Combine("validation", tasks, t => t.Validation, validationImages is { } v ? (v + tasks.Count - 1) / tasks.Count : null, offsets, imageSize, seed + 1, augment: false);
        var test = Combine("test", tasks, t => t.Test, testImages is { } n ? (n + tasks.Count - 1) / tasks.Count : null, offsets, imageSize, seed + 2, augment: false);
        return new ProtocolData(tasks, evaluationTasks, names, ClassEmbeddings.FromNames(names, embeddingDimension), calibrationSet, validation, test);
    }

    /// <summary>
    /// Up to <paramref name="perTask"/> images of each task (a seeded draw, in drawn order for
    /// calibration so that every batch mixes tasks after the final shuffle), transformed by each
    /// task's own normalisation, with global labels.
    /// </summary>
    private static TensorDataset Combine(string name, IReadOnlyList<DataTask> tasks, Func<DataTask, ImageSet> split, long? perTask,
        IReadOnlyDictionary<string, long> offsets, int imageSize, long seed, bool augment)
    {
        using var scope = NewDisposeScope();
        var images = new List<Tensor>();
        var labels = new List<Tensor>();
        var generator = new Generator((ulong)seed);
        foreach (var task in tasks)
        {
            var set = split(task);
            var count = perTask is { } k ? Math.Min(k, set.Count) : set.Count;
            var chosen = count < set.Count ? torch.randperm(set.Count, generator: generator).narrow(0, 0, count).sort().Values : torch.arange(set.Count);
            var augmentation = augment ? new Augmentation(generator, 4, task.Flip) : null;
            var transform = task.Transform(imageSize);
            for (long start = 0; start < count; start += 1000)
            {
                var idx = chosen.narrow(0, start, Math.Min(1000, count - start));
                images.Add(transform.Apply(set.Images.index_select(0, idx), augmentation));
                labels.Add(set.Labels.index_select(0, idx).add(offsets[task.Spec.Dataset]));
            }
        }
        var allImages = torch.cat(images);
        var allLabels = torch.cat(labels);
        if (augment)
        {
            // Calibration batches should hold both tasks' images, as the paper's shuffled loader gives.
            var order = torch.randperm(allImages.shape[0], generator: generator);
            allImages = allImages.index_select(0, order);
            allLabels = allLabels.index_select(0, order);
        }
        return TensorDataset.FromTensors(name, allImages.MoveToOuterDisposeScope(), allLabels.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Embeddings.Dispose();
        Calibration.Dispose();
        Validation.Dispose();
        Test.Dispose();
        foreach (var t in Tasks) t.Dispose();
    }
}
