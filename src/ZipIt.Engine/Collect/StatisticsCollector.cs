using TorchSharp;
using ZipIt.Engine.Models;
using static TorchSharp.torch;

namespace ZipIt.Engine.Collect;

/// <summary>
/// Runs N models (eval mode, no gradients) over the same batches and accumulates, for every feature
/// space, the covariance of the models' stacked features (model 0's units first). Only one batch of
/// taps per model is held at a time.
/// </summary>
internal static class StatisticsCollector
{
    public static Dictionary<string, CovarianceAccumulator> Collect(
        IReadOnlyList<StagedModel> models, IReadOnlyList<FeatureSpace> spaces, IEnumerable<Tensor> batches, Device device,
        CancellationToken cancellation = default, Action<long>? progress = null, IReadOnlyCollection<string>? tapSets = null)
    {
        var accumulators = spaces.ToDictionary(s => s.Name, s => new CovarianceAccumulator(models.Count * s.Width, models.Count));
        var taps = new List<FeatureTaps>();
        try
        {
            foreach (var model in models)
            {
                model.eval();
                taps.Add(new FeatureTaps(model, spaces, tapSets));
            }
            using var _ = torch.no_grad();
            foreach (var batch in batches)
            {
                cancellation.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                // The models sit on the compute device; the calibration images are on the CPU.
                var input = batch.to(device);
                foreach (var model in models) model.call(input);
                foreach (var space in spaces)
                {
                    var features = taps.Select(t => t.Take(space.Name)).ToArray();
                    try
                    {
                        if (features.Any(f => f.Count != features[0].Count || f.Zip(features[0]).Any(p => p.First.shape[1] != p.Second.shape[1])))
                            throw new ArgumentException($"feature space '{space.Name}': the models' taps give different sample counts");
                        accumulators[space.Name].Add(features, batch.shape[0]);
                    }
                    finally
                    {
                        foreach (var f in features) foreach (var part in f) part.Dispose();
                    }
                }
                progress?.Invoke(batch.shape[0]);
            }
            return accumulators;
        }
        catch
        {
            foreach (var a in accumulators.Values) a.Dispose();
            throw;
        }
        finally
        {
            foreach (var t in taps) t.Dispose();
        }
    }
}
