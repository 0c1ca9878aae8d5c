using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Engine.ResetBn;

/// <summary>
/// Recomputes every BatchNorm's running statistics from data (REPAIR / ZipIt! §6): statistics
/// reset, train mode, no gradients, one pass, each batch weighted equally (PyTorch's cumulative
/// average, momentum = None). Other layers are untouched; the module is left in eval mode.
/// </summary>
internal static class BatchNormReset
{
    /// <summary>The BatchNorm layers (with running statistics) of <paramref name="module"/>.</summary>
    // TorchSharp's modules() omits the module itself (PyTorch's includes it).
    public static IReadOnlyList<NormBase> Layers(nn.Module module) =>
        module.modules().Prepend(module).OfType<NormBase>().Where(n => n.track_running_stats && n.running_mean is not null).ToList();

    /// <summary>
    /// Runs <paramref name="forward"/> over <paramref name="batches"/> with the BatchNorm layers of
    /// <paramref name="modules"/> accumulating fresh statistics. Returns the number of batches.
    /// </summary>
    public static int Run(IReadOnlyList<nn.Module> modules, IEnumerable<Tensor> batches, Action<Tensor> forward, CancellationToken cancellation = default)
    {
        var layers = modules.SelectMany(Layers).Distinct().ToList();
        if (layers.Count == 0) return 0;
        var saved = layers.Select(l => l.momentum).ToList();
        using var _ = torch.no_grad();
        foreach (var l in layers)
        {
            l.running_mean!.zero_();
            l.running_var!.fill_(1);
            l.num_batches_tracked?.zero_();
        }
        foreach (var m in modules) m.train();
        var count = 0;
        try
        {
            foreach (var batch in batches)
            {
                cancellation.ThrowIfCancellationRequested();
                // momentum 1/(k+1) at batch k turns the exponential average into the plain mean of
                // the batch statistics, which is what PyTorch's momentum=None does.
                foreach (var l in layers) l.momentum = 1.0 / (count + 1);
                using var scope = torch.NewDisposeScope();
                forward(batch);
                count++;
            }
        }
        finally
        {
            for (var i = 0; i < layers.Count; i++) layers[i].momentum = saved[i];
            foreach (var m in modules) m.eval();
        }
        return count;
    }
}
