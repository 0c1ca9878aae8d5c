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
/// <remarks>
/// A batch is read a block of units at a time (<see cref="BlockElements"/>), each block converted
/// to float64 on its own: a whole batch in float64 would be several times the activation itself
/// (a ViT-S MLP's hidden units on 50 images: 120 MB per copy), and such transient copies, freed and
/// reallocated at every hook, are what made the process's memory grow far beyond its live tensors.
/// </remarks>
internal sealed class UnitMoments(long units) : IDisposable
{
    /// <summary>The most float64 elements of one block of units converted at once (8 MiB).</summary>
    public const long BlockElements = 1L << 20;

    // On the first batch's device, so that a GPU run accumulates there (still float64).
    private Tensor? _mean;
    private Tensor? _squares;

    public long Units { get; } = units;

    /// <summary>Samples accumulated so far (positions and tokens of every image).</summary>
    public long Samples { get; private set; }

    /// <summary>
    /// Adds one batch: <paramref name="features"/> [L, …] (any floating type, any strides: a view
    /// such as a module output with its channel axis moved first), every axis after the first
    /// holding samples.
    /// </summary>
    public void Add(Tensor features)
    {
        if (features.dim() < 2 || features.shape[0] != Units)
            throw new ArgumentException($"expected features [{Units}, S…], got [{string.Join(",", features.shape)}]");
        var count = features.numel() / Units;
        if (count == 0) return;
        using var scope = torch.NewDisposeScope();
        var sampleAxes = Enumerable.Range(1, (int)features.dim() - 1).Select(a => (long)a).ToArray();
        var block = Math.Max(1, BlockElements / count);
        var means = new List<Tensor>();
        var deviations = new List<Tensor>();
        for (long first = 0; first < Units; first += block)
        {
            using var blockScope = torch.NewDisposeScope();
            var x = features.narrow(0, first, Math.Min(block, Units - first)).to(ScalarType.Float64);
            var mean = x.mean(sampleAxes, keepdim: true);
            deviations.Add((x - mean).pow_(2).sum(sampleAxes).MoveToOuterDisposeScope());
            means.Add(mean.flatten().MoveToOuterDisposeScope());
        }
        Combine(torch.cat(means), torch.cat(deviations), count);
    }

    // Chan's rule: the running (mean, M2, n) with a batch's (mean, M2, count).
    private void Combine(Tensor mean, Tensor squares, long count)
    {
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
