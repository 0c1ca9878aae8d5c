using ZipIt.Engine.Core;
using ZipIt.Engine.Data;
using ZipIt.Engine.Models;
using ZipIt.Engine.Output;
using ZipIt.Engine.ResetBn;

namespace ZipIt.Engine.Collect;

/// <summary>The collect stage: per-point statistics of the stacked features of every model (a session resets BatchNorm first when asked).</summary>
internal static class CollectStage
{
    /// <summary>Exit 2 unless every tap set named is declared by some point of <paramref name="spaces"/>.</summary>
    public static void RequireTapSets(IReadOnlyList<FeatureSpace> spaces, IReadOnlyCollection<string>? tapSets, ArchitectureConfig config)
    {
        foreach (var set in tapSets ?? [])
            if (!spaces.Any(sp => sp.Taps.Any(t => t.Set == set)))
            {
                var declared = spaces.SelectMany(sp => sp.Taps).Select(t => t.Set).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
                throw ZipItException.Usage($"--tap-set {set}: {config.Variant} declares {(declared.Count == 0 ? "no alternative tap sets" : "the tap sets " + string.Join(", ", declared))}");
            }
    }

    /// <summary>The statistics of <paramref name="spaces"/> over <paramref name="dataset"/>, BatchNorm as it is.</summary>
    public static PointStatistics Run(
        IReadOnlyList<LoadedModel> models, IReadOnlyList<FeatureSpace> spaces, TensorDataset dataset, int batchSize, CancellationToken cancellation,
        IReadOnlyCollection<string>? tapSets = null, ProgressDisplay? progress = null)
    {
        progress ??= ProgressDisplay.Off;
        var count = ProgressDisplay.Batches(dataset.Count, batchSize);
        RequireTapSets(spaces, tapSets, models[0].Config);
        var accumulators = progress.Over($"collect {models.Count} models", dataset.Batches(batchSize).Select(b => b.Images), count,
            batches => StatisticsCollector.Collect(models.Select(m => m.Model).ToList(), spaces, batches, models[0].Device, cancellation, tapSets: tapSets));
        try
        {
            // Matching and the metrics file work on the CPU; an O×O matrix is small next to the features.
            var points = new Dictionary<string, (TorchSharp.torch.Tensor, TorchSharp.torch.Tensor)>();
            foreach (var (name, accumulator) in accumulators)
            {
                var (c, m) = accumulator.Finish();
                // Freed at once: the statistics' peak is then one set of O×O matrices, not two.
                accumulator.Dispose();
                points[name] = c.device_type == TorchSharp.DeviceType.CPU ? (c, m) : (Cpu(c), Cpu(m));
            }
            return new PointStatistics(points, models.Count, dataset.Count);
        }
        finally
        {
            foreach (var a in accumulators.Values) a.Dispose();
        }
    }

    private static TorchSharp.torch.Tensor Cpu(TorchSharp.torch.Tensor t)
    {
        var cpu = t.cpu();
        t.Dispose();
        return cpu;
    }
}
