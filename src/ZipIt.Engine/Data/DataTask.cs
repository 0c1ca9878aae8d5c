using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Data;

/// <summary>
/// A task opened: the images of its classes in three splits. <see cref="Train"/> and
/// <see cref="Validation"/> partition the dataset's training part (a fixed seeded draw of
/// <see cref="ValidationFraction"/> of it, the same for every task of one dataset, held out for
/// choosing hyper-parameters); <see cref="Test"/> is the dataset's test part. Normalisation
/// statistics come from the whole training part, so every task of a dataset sees the same inputs.
/// </summary>
internal sealed class DataTask : IDisposable
{
    public const double ValidationFraction = 0.1;
    private const long SplitSeed = 0;

    private DataTask(TaskSpec spec, IReadOnlyList<long> classes, IReadOnlyList<string> classNames, ImageSet train, ImageSet validation, ImageSet test,
        double[] mean, double[] std, bool flip)
    {
        Spec = spec;
        Classes = classes;
        ClassNames = classNames;
        Train = train;
        Validation = validation;
        Test = test;
        Mean = mean;
        Std = std;
        Flip = flip;
    }

    public TaskSpec Spec { get; }
    public string Name => Spec.ToString();
    /// <summary>The dataset's class ids this task covers, in order.</summary>
    public IReadOnlyList<long> Classes { get; }
    /// <summary>The names of <see cref="Classes"/>, in the same order.</summary>
    public IReadOnlyList<string> ClassNames { get; }
    public ImageSet Train { get; }
    public ImageSet Validation { get; }
    public ImageSet Test { get; }
    public IReadOnlyList<double> Mean { get; }
    public IReadOnlyList<double> Std { get; }
    /// <summary>Whether horizontal flips are a fair augmentation for these images.</summary>
    public bool Flip { get; }

    public ImageSet Split(DataSplit split) => split switch
    {
        DataSplit.Train => Train,
        DataSplit.Validation => Validation,
        _ => Test,
    };

    public ImageTransform Transform(int size = 32, int channels = 3) => new(size, channels, Mean, Std);

    /// <summary>What a model trained on this task records of its inputs (<see cref="Transform"/> as data).</summary>
    public Preprocessing Preprocessing(int size = 32, int channels = 3) => new(size, channels, Mean, Std);

    public static DataTask Open(TaskSpec spec)
    {
        var source = DatasetCatalog.Open(spec.Dataset);
        var known = DatasetCatalog.Names.FirstOrDefault(k => string.Equals(k.Name, spec.Dataset, StringComparison.OrdinalIgnoreCase));
        var classes = spec.Resolve(source.Train.ClassNames.Count);
        var (mean, std) = StatisticsOf(source.Train);
        using var scope = NewDisposeScope();
        var n = source.Train.Count;
        var order = torch.randperm(n, generator: new Generator(SplitSeed));
        var held = (long)Math.Round(n * ValidationFraction);
        var isValidation = torch.zeros(n, ScalarType.Bool).index_fill_(0, order.narrow(0, 0, held), true);
        var inTask = source.Train.IndicesOf(classes);
        var trainIdx = inTask.masked_select(isValidation.index_select(0, inTask).logical_not());
        var validationIdx = inTask.masked_select(isValidation.index_select(0, inTask));
        var testIdx = source.Test.IndicesOf(classes);
        var task = new DataTask(spec, classes, classes.Select(c => source.Train.ClassNames[(int)c]).ToList(),
            source.Train.Select(trainIdx, $"{spec}/train"), source.Train.Select(validationIdx, $"{spec}/validation"), source.Test.Select(testIdx, $"{spec}/test"),
            mean, std, known?.Flip ?? true);
        foreach (var set in new[] { task.Train, task.Validation, task.Test })
        {
            set.Images.MoveToOuterDisposeScope();
            set.Labels.MoveToOuterDisposeScope();
        }
        return task;
    }

    private static readonly Dictionary<ImageSet, (double[], double[])> Statistics = [];

    /// <summary>Per-channel statistics of <paramref name="set"/>, computed once per process.</summary>
    public static (double[] Mean, double[] Std) StatisticsOf(ImageSet set)
    {
        lock (Statistics)
        {
            if (!Statistics.TryGetValue(set, out var s)) Statistics[set] = s = ImageTransform.Statistics(set.Images);
            return s;
        }
    }

    public void Dispose()
    {
        Train.Dispose();
        Validation.Dispose();
        Test.Dispose();
    }
}

/// <summary>Which part of a task's images: training, validation (held out from training), or test.</summary>
internal enum DataSplit
{
    Train,
    Validation,
    Test,
}
