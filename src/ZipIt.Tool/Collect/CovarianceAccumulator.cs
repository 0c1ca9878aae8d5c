using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Collect;

/// <summary>
/// Streaming covariance of the N models' stacked features at one merge point (ZipIt! §2.4): per
/// batch the mean and second moment of the [N·C, S] features, weighted by the batch's image count,
/// summed in float64; Cov = E[xxᵀ] − E[x]E[x]ᵀ (population covariance). The two O×O sums are the
/// only per-point state.
/// </summary>
internal sealed class CovarianceAccumulator(int size) : IDisposable
{
    // Allocated on the first batch's device, so that a GPU run accumulates on the GPU (still float64).
    private Tensor? _sumMean;
    private Tensor? _sumOuter;

    public int Size { get; } = size;

    /// <summary>Images accumulated so far.</summary>
    public long Images { get; private set; }

    /// <summary>Adds one batch: <paramref name="features"/> [N·C, S] from <paramref name="images"/> images.</summary>
    public void Add(Tensor features, long images)
    {
        if (features.dim() != 2 || features.shape[0] != Size)
            throw new ArgumentException($"expected features [{Size}, S], got [{string.Join(",", features.shape)}]");
        // Detached: callers add batches inside their own per-batch dispose scopes.
        _sumMean ??= torch.zeros(Size, ScalarType.Float64, features.device).DetachFromDisposeScope();
        _sumOuter ??= torch.zeros(Size, Size, ScalarType.Float64, features.device).DetachFromDisposeScope();
        using var scope = torch.NewDisposeScope();
        var x = features.to(ScalarType.Float64);
        var samples = x.shape[1];
        _sumMean.add_(x.mean([1]), alpha: images);
        _sumOuter.add_(torch.mm(x, x.t()), alpha: (double)images / samples);
        Images += images;
    }

    /// <summary>The covariance [N·C, N·C] and mean [N·C], float64.</summary>
    public (Tensor Covariance, Tensor Mean) Finish()
    {
        if (Images == 0) throw new InvalidOperationException("no data was accumulated");
        var mean = _sumMean! / Images;
        var covariance = _sumOuter! / Images - torch.outer(mean, mean);
        return (covariance, mean);
    }

    public void Dispose()
    {
        _sumMean?.Dispose();
        _sumOuter?.Dispose();
    }
}
