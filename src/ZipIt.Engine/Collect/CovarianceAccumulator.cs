using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Engine.Collect;

/// <summary>
/// Streaming covariance of the N models' stacked features at one merge point: per batch the mean
/// and second moment of the [N·C, S] features, weighted by the batch's image count, summed in
/// float64; Cov = E[xxᵀ] − E[x]E[x]ᵀ (population covariance, as the reference computes it).
/// </summary>
/// <remarks>
/// The O×O product, the one expensive step, runs in float32 on batch-centred features: per batch,
/// each model's features are centred in place on c_b, their float32 mean, and
/// P_b = (x − c_b)(x − c_b)ᵀ / S is formed in float32; the sum of w_b·P_b is kept in float64. The
/// residue r_b = mean(x − c_b) (tiny, and exact to float32 rounding of the spread rather than of
/// the mean) makes the batch mean x̄_b = c_b + r_b and P_b = C_b + r_b r_bᵀ, so at
/// <see cref="Finish"/> Cov = Σ w_b P_b / W − Σ (w_b / W) r_b r_bᵀ + Σ (w_b / W)(x̄_b − x̄)(x̄_b − x̄)ᵀ,
/// W = Σ w_b, from the per-batch vectors kept until then. Centring removes the large common offset
/// (post-ReLU features are far from zero-mean) that makes E[xxᵀ] − E[x]E[x]ᵀ cancel, so float32
/// products lose only their own rounding: each entry carries a relative error of about √S·2⁻²⁴ of
/// the centred features' scale. Measured against float64 on features with a mean 100× their
/// spread: below 1e-6 relative to the largest covariance entry (tested). Float32 matrix products
/// run about twice as fast as float64 on CPUs and far faster on GPUs. Centring in place with
/// float32 sums reads the batch three times and copies none of it: a float64 sum over samples
/// (which converts the batch to float64 first) took 11× as long on ResNet-50's points. The mean is
/// then exact to about 2⁻²⁴ of the features' spread, the precision the float32 features have.
/// Cov is symmetric: the O features are cut into chunks of at most <see cref="ChunkWidth"/> (never
/// across models), only the chunk pairs on and above the diagonal are multiplied, and the lower
/// ones are filled by transposing at <see cref="Finish"/>. With k chunks that is k(k+1)/2 of k²
/// products: for two models of 2,048 units, 36 of 64 (56 %), where whole model blocks would be
/// three of four (75 %).
/// </remarks>
internal sealed class CovarianceAccumulator : IDisposable
{
    /// <summary>
    /// The widest chunk of features multiplied at once. Measured on ResNet-50's points (2 CPU cores):
    /// the diagonal blocks cut into 256-wide chunks take 0.89 of the time of whole blocks, 512 and
    /// 1,024 about the same; 128-wide chunks are slower than whole blocks (each product re-reads its
    /// samples, and narrow products run below the matrix unit's speed).
    /// </summary>
    public const int ChunkWidth = 256;

    // Allocated on the first batch's device, so that a GPU run accumulates on the GPU (still float64).
    private Tensor? _sumCentred;
    private readonly List<(Tensor Mean, Tensor Residue, long Images)> _batches = [];
    private readonly int _blockSize;
    private readonly (int Block, long Offset, long Length)[] _chunks;

    /// <param name="size">Rows of the stacked features, N·C.</param>
    /// <param name="blocks">N, the number of models stacked (model 0's C units first); must divide <paramref name="size"/>.</param>
    public CovarianceAccumulator(int size, int blocks = 1)
    {
        if (blocks < 1 || size % blocks != 0) throw new ArgumentException($"{blocks} blocks do not divide {size} features");
        Size = size;
        Blocks = blocks;
        _blockSize = size / blocks;
        var pieces = Math.Max(1, (_blockSize + ChunkWidth - 1) / ChunkWidth);
        _chunks = Enumerable.Range(0, blocks).SelectMany(b => Enumerable.Range(0, pieces).Select(p =>
        {
            long start = (long)_blockSize * p / pieces, end = (long)_blockSize * (p + 1) / pieces;
            return (b, start, end - start);
        })).Where(c => c.Item3 > 0).ToArray();
    }

    public int Size { get; }

    /// <summary>How many models' features are stacked.</summary>
    public int Blocks { get; }

    /// <summary>Images accumulated so far.</summary>
    public long Images { get; private set; }

    /// <summary>Adds one batch given stacked: <paramref name="features"/> [N·C, S] from <paramref name="images"/> images, centred in place.</summary>
    public void Add(Tensor features, long images)
    {
        if (features.dim() != 2 || features.shape[0] != Size)
            throw new ArgumentException($"expected features [{Size}, S], got [{string.Join(",", features.shape)}]");
        Add(Enumerable.Range(0, Blocks).Select(b => (IReadOnlyList<Tensor>)[features.narrow(0, (long)b * _blockSize, _blockSize)]).ToList(), images);
    }

    /// <summary>
    /// Adds one batch from <paramref name="images"/> images: for each of the N models, its features
    /// as float32 parts [C, Sₚ] (the taps of the point, every model with the same parts' sample
    /// counts), which are centred in place (NaN/±Inf zeroed): the caller gives up their contents.
    /// </summary>
    public void Add(IReadOnlyList<IReadOnlyList<Tensor>> models, long images)
    {
        if (models.Count != Blocks) throw new ArgumentException($"expected the features of {Blocks} models, got {models.Count}");
        var parts = models[0].Count;
        for (var b = 0; b < Blocks; b++)
        {
            if (models[b].Count != parts || parts == 0)
                throw new ArgumentException($"model {b} gives {models[b].Count} parts of features, model 0 gives {parts}");
            for (var p = 0; p < parts; p++)
            {
                var x = models[b][p];
                if (x.dim() != 2 || x.shape[0] != _blockSize || x.shape[1] != models[0][p].shape[1] || x.dtype != ScalarType.Float32)
                    throw new ArgumentException($"model {b}: expected float32 features [{_blockSize}, {models[0][p].shape[1]}], got {x.dtype} [{string.Join(",", x.shape)}]");
            }
        }
        var samples = models[0].Sum(x => x.shape[1]);
        if (samples == 0) throw new ArgumentException("a batch without samples");
        var device = models[0][0].device;
        _sumCentred ??= torch.zeros(Size, Size, ScalarType.Float64, device).DetachFromDisposeScope();
        using var scope = torch.NewDisposeScope();
        var centres = new Tensor[Blocks];
        var residues = new Tensor[Blocks];
        for (var b = 0; b < Blocks; b++)
        {
            var sum = Sum(models[b]);
            // NaN/±Inf features count as 0 (one overflowing unit must not poison the whole point). A non-finite value
            // makes its unit's sum non-finite, so the sum we need anyway finds them without a pass of its own.
            if (!sum.isfinite().all().item<bool>())
            {
                foreach (var x in models[b]) x.nan_to_num_(0, 0, 0);
                sum = Sum(models[b]);
            }
            var centre = sum / samples;
            foreach (var x in models[b]) x.sub_(centre.unsqueeze(1));
            centres[b] = centre.to(ScalarType.Float64);
            residues[b] = Sum(models[b]).to(ScalarType.Float64) / samples;
        }
        var weight = (double)images / samples;
        for (var i = 0; i < _chunks.Length; i++)
        {
            for (var j = i; j < _chunks.Length; j++)
            {
                using var product = Product(models, _chunks[i], _chunks[j]);
                // In place, float32 product promoted into the float64 sum: no float64 copy of the chunk.
                Chunk(_sumCentred, i, j).add_(product, alpha: weight);
            }
        }
        var residue = torch.cat(residues);
        _batches.Add(((torch.cat(centres) + residue).DetachFromDisposeScope(), residue.DetachFromDisposeScope(), images));
        Images += images;
    }

    /// <summary>The covariance [N·C, N·C] and mean [N·C], float64.</summary>
    public (Tensor Covariance, Tensor Mean) Finish()
    {
        if (Images == 0) throw new InvalidOperationException("no data was accumulated");
        using var scope = torch.NewDisposeScope();
        var means = torch.stack(_batches.Select(b => b.Mean));
        var residues = torch.stack(_batches.Select(b => b.Residue));
        var weights = torch.tensor(_batches.Select(b => (double)b.Images / Images).ToArray(), dtype: ScalarType.Float64, device: means.device).sqrt().unsqueeze(1);
        var mean = (means * weights * weights).sum([0]);
        var spread = (means - mean) * weights;
        var offCentre = residues * weights;
        var covariance = _sumCentred! / Images;
        for (var i = 0; i < _chunks.Length; i++)
            for (var j = i + 1; j < _chunks.Length; j++)
                Chunk(covariance, j, i).copy_(Chunk(covariance, i, j).t());
        covariance.add_(torch.mm(spread.t(), spread)).sub_(torch.mm(offCentre.t(), offCentre));
        // Exactly symmetric (a float32 product AAᵀ is not, to the last bit); averaging leaves the
        // transposed chunks as they are.
        covariance = (covariance + covariance.t()) / 2;
        return (covariance.MoveToOuterDisposeScope(), mean.MoveToOuterDisposeScope());
    }

    /// <summary>Σ over the parts of the float32 sum over samples: [C].</summary>
    private static Tensor Sum(IReadOnlyList<Tensor> parts)
    {
        var sum = parts[0].sum([1]);
        for (var p = 1; p < parts.Count; p++) sum.add_(parts[p].sum([1]));
        return sum;
    }

    /// <summary>Σ over the parts of chunk a's rows times chunk b's rows transposed, float32.</summary>
    private static Tensor Product(IReadOnlyList<IReadOnlyList<Tensor>> models, (int Block, long Offset, long Length) a, (int Block, long Offset, long Length) b)
    {
        Tensor? product = null;
        for (var p = 0; p < models[a.Block].Count; p++)
        {
            using var rows = models[a.Block][p].narrow(0, a.Offset, a.Length);
            using var columns = models[b.Block][p].narrow(0, b.Offset, b.Length);
            if (product is null) product = torch.mm(rows, columns.t());
            else product.addmm_(rows, columns.t());
        }
        return product!;
    }

    private Tensor Chunk(Tensor matrix, int i, int j)
    {
        var (a, b) = (_chunks[i], _chunks[j]);
        return matrix.narrow(0, (long)a.Block * _blockSize + a.Offset, a.Length).narrow(1, (long)b.Block * _blockSize + b.Offset, b.Length);
    }

    public void Dispose()
    {
        _sumCentred?.Dispose();
        _sumCentred = null;
        foreach (var (m, r, _) in _batches)
        {
            m.Dispose();
            r.Dispose();
        }
        _batches.Clear();
    }
}
