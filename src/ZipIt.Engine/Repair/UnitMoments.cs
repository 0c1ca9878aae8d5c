using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Repair;

/// <summary>
/// The mean and (population) variance of each of L units over every sample seen, streamed in
/// float64: per batch the units' mean and sum of squared deviations from it, combined with the
/// running ones by Chan's pairwise rule (mean += δ·n_b/n, M2 += M2_b + δ²·n·n_b/n). Deviations are
/// taken from each batch's own mean, so a unit far from zero (a LayerNorm bias, a post-GELU
/// offset) loses nothing to the cancellation of E[x²] − E[x]².
/// </summary>
internal sealed class UnitMoments(long units) : IDisposable
{
    // On the first batch's device, so that a GPU run accumulates there (still float64).
    private Tensor? _mean;
    private Tensor? _squares;

    public long Units { get; } = units;

    /// <summary>Samples accumulated so far (positions and tokens of every image).</summary>
    public long Samples { get; private set; }

    /// <summary>Adds one batch of features [L, S] (any floating type; converted to float64).</summary>
    public void Add(Tensor features)
    {
        if (features.dim() != 2 || features.shape[0] != Units)
            throw new ArgumentException($"expected features [{Units}, S], got [{string.Join(",", features.shape)}]");
        var count = features.shape[1];
        if (count == 0) return;
        using var scope = torch.NewDisposeScope();
        var x = features.to(ScalarType.Float64);
        var mean = x.mean([1]);
        var squares = (x - mean.unsqueeze(1)).square().sum([1]);
        if (_mean is null || _squares is null)
        {
            _mean = mean.DetachFromDisposeScope();
            _squares = squares.DetachFromDisposeScope();
            Samples = count;
            return;
        }
        var total = Samples + count;
        var delta = mean - _mean;
        _mean.add_(delta * ((double)count / total));
        _squares.add_(squares + delta.square() * ((double)Samples * count / total));
        Samples = total;
    }

    /// <summary>Each unit's mean [L], float64 on the CPU.</summary>
    public Tensor Mean() => _mean is null ? throw NoSamples() : _mean.cpu().clone();

    /// <summary>Each unit's population standard deviation [L] (no Bessel correction), float64 on the CPU.</summary>
    public Tensor Std() => _squares is null ? throw NoSamples() : (_squares / Samples).clamp_min(0).sqrt().cpu();

    private static InvalidOperationException NoSamples() => new("no samples were added");

    public void Dispose()
    {
        _mean?.Dispose();
        _squares?.Dispose();
    }
}
