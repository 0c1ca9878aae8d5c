using ZipIt.Data;
using ZipIt.Models;
using ZipIt.ResetBn;

namespace ZipIt.Collect;

/// <summary>The collect stage shared by <c>collect</c> and <c>merge</c>: optional base-model BN reset, then per-point statistics.</summary>
internal static class CollectStage
{
    public static Dictionary<string, (TorchSharp.torch.Tensor Covariance, TorchSharp.torch.Tensor Mean)> Run(
        IReadOnlyList<LoadedModel> models, IReadOnlyList<FeatureSpace> spaces, TensorDataset dataset, int batchSize, bool resetBn, CancellationToken cancellation)
    {
        if (resetBn)
            foreach (var m in models)
                BatchNormReset.Run(m.Modules, dataset.Batches(batchSize).Select(b => b.Images), x => m.Forward(x), cancellation);
        var accumulators = StatisticsCollector.Collect(models.Select(m => m.Model).ToList(), spaces, dataset.Batches(batchSize).Select(b => b.Images), cancellation);
        try
        {
            return accumulators.ToDictionary(kv => kv.Key, kv => kv.Value.Finish());
        }
        finally
        {
            foreach (var a in accumulators.Values) a.Dispose();
        }
    }
}
