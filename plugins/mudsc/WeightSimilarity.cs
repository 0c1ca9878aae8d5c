using TorchSharp;
using ZipIt.Matching;
using static TorchSharp.torch;

namespace ZipIt.Plugins.MuDsc;

/// <summary>
/// MuDSC's weight-space similarity of one point (mudsc-method.md §4): every unit's incoming and
/// outgoing weights over every tensor axis of the point, concatenated, with each tensor's other
/// axes first brought into the merged space of their own point by its current matching; then the
/// Pearson correlation between the N·C unit vectors.
/// </summary>
/// <remarks>
/// <para>As the reference, and unlike the final merge: a neighbour's consumer axis is mapped with
/// N·M_i and a neighbour's producer (or norm) axis with U_i (§4.1, §14 #6). The two agree for
/// permutations and for zip features of two members. A neighbour without a matching (not matched in
/// this run: beyond a partial zip's stop, or before its first visit in weight-only mode) stays raw.</para>
/// <para>BatchNorm running statistics are merged but not compared (the reference's <c>ignore</c>).
/// Raw values are concatenated without per-tensor normalisation, as the reference does. The
/// moments are accumulated per tensor in float64, so the concatenated features never exist at once.</para>
/// </remarks>
internal sealed class WeightSimilarity : IDisposable
{
    private sealed record Entry(FeatureSpace Space, TensorAxis Axis, bool Consumer);

    private readonly IReadOnlyList<IReadOnlyDictionary<string, Tensor>> _weights;
    private readonly Dictionary<string, List<Entry>> _byTensor = new(StringComparer.Ordinal);
    private readonly int _models;
    // Each entry's float64 Gram matrix and row sums, with the neighbour assignments they were made
    // from: a rematch changes one point, so most entries of the next point are still valid.
    private readonly Dictionary<Entry, (object?[] Key, Tensor Gram, Tensor Sums, long Length)> _cache = new(ReferenceEqualityComparer.Instance);

    public WeightSimilarity(IReadOnlyList<MatchPoint> points, IReadOnlyList<IReadOnlyDictionary<string, Tensor>> weights, int models)
    {
        _weights = weights;
        _models = models;
        foreach (var point in points)
        {
            var space = point.Space!;
            foreach (var axis in space.Producers.Concat(space.Norms)) Add(space, axis, consumer: false);
            foreach (var axis in space.Consumers) Add(space, axis, consumer: true);
        }
        // Checked here, before any TorchSharp call could abort the process on a shape mismatch.
        foreach (var (tensor, entries) in _byTensor)
            for (var i = 0; i < models; i++)
            {
                if (!weights[i].TryGetValue(tensor, out var value))
                    throw new ArgumentException($"model {i}'s weights have no tensor '{tensor}' (point '{entries[0].Space.Name}')");
                if (!value.shape.SequenceEqual(weights[0][tensor].shape))
                    throw new ArgumentException($"tensor '{tensor}' has shape [{string.Join(",", value.shape)}] in model {i} but [{string.Join(",", weights[0][tensor].shape)}] in model 0");
                if (!value.is_floating_point())
                    throw new ArgumentException($"tensor '{tensor}' is not floating point ({value.dtype})");
                foreach (var e in entries)
                {
                    if (e.Axis.Axis < 0 || e.Axis.Axis >= value.dim())
                        throw new ArgumentException($"point '{e.Space.Name}': tensor '{tensor}' has no axis {e.Axis.Axis}");
                    var length = e.Axis.Length ?? value.shape[e.Axis.Axis] - e.Axis.Offset;
                    if (length != e.Space.Width || e.Axis.Offset < 0 || e.Axis.Offset + length > value.shape[e.Axis.Axis])
                        throw new ArgumentException($"point '{e.Space.Name}': {e.Axis} does not hold {e.Space.Width} units of shape [{string.Join(",", value.shape)}]");
                }
            }
    }

    private void Add(FeatureSpace space, TensorAxis axis, bool consumer)
    {
        if (!_byTensor.TryGetValue(axis.Tensor, out var list)) _byTensor[axis.Tensor] = list = [];
        list.Add(new Entry(space, axis, consumer));
    }

    /// <summary>The points whose matchings the point's weight similarity depends on (itself included when a tensor has two of its axes).</summary>
    public IReadOnlyList<string> Neighbours(FeatureSpace space) =>
        Compared(space).SelectMany(e => _byTensor[e.Axis.Tensor].Where(o => o.Axis.Axis != e.Axis.Axis).Select(o => o.Space.Name))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>The number of values D compared per unit (for logs and tests).</summary>
    public long FeatureLength(FeatureSpace space) =>
        Compared(space).Sum(e =>
        {
            var shape = _weights[0][e.Axis.Tensor].shape;
            return shape.Select((n, a) => a == e.Axis.Axis ? 1 : n).Aggregate(1L, (x, y) => x * y);
        });

    /// <summary>
    /// The [N·C, N·C] float32 correlation (row-major) of the point's unit weight vectors, with the
    /// neighbours' current matchings from <paramref name="matchOf"/> (null: no matching, raw).
    /// Dead units (constant vectors) correlate 0 with everything, themselves included.
    /// </summary>
    /// <param name="space">The point.</param>
    /// <param name="matchOf">A point's current matching, or null.</param>
    /// <param name="versionOf">An object that changes whenever a point's matching changes (null: none).</param>
    public float[] Compute(FeatureSpace space, Func<string, MatchResult?> matchOf, Func<string, object?> versionOf)
    {
        var stacked = (long)_models * space.Width;
        using var outer = torch.NewDisposeScope();
        var gram = zeros([stacked, stacked], ScalarType.Float64);
        var sums = zeros([stacked], ScalarType.Float64);
        long length = 0;
        foreach (var entry in Compared(space))
        {
            var key = _byTensor[entry.Axis.Tensor].Where(o => o.Axis.Axis != entry.Axis.Axis).Select(o => versionOf(o.Space.Name)).ToArray();
            if (!_cache.TryGetValue(entry, out var part) || !part.Key.SequenceEqual(key, ReferenceEqualityComparer.Instance))
            {
                if (_cache.Remove(entry, out var stale)) { stale.Gram.Dispose(); stale.Sums.Dispose(); }
                using var scope = torch.NewDisposeScope();
                var rows = new List<Tensor>();
                for (var i = 0; i < _models; i++) rows.Add(Features(entry, i, matchOf));
                // float32 products (the reference's precision, half the time of float64) summed in float64.
                var block = torch.cat(rows, 0);
                part = (key, torch.mm(block, block.t()).to(ScalarType.Float64).DetachFromDisposeScope(),
                    block.sum(1, type: ScalarType.Float64).DetachFromDisposeScope(), block.shape[1]);
                _cache[entry] = part;
            }
            gram.add_(part.Gram);
            sums.add_(part.Sums);
            length += part.Length;
        }
        if (length == 0)
            return new float[stacked * stacked];
        // Pearson over the concatenated vector: E[xy] − E[x]E[y], then the shared covariance → correlation.
        var mean = sums / length;
        var covariance = gram / length - torch.outer(mean, mean);
        return Correlation.Compute(covariance);
    }

    public void Dispose()
    {
        foreach (var part in _cache.Values) { part.Gram.Dispose(); part.Sums.Dispose(); }
        _cache.Clear();
    }

    private IEnumerable<Entry> Compared(FeatureSpace space) =>
        _byTensor.Values.SelectMany(e => e).Where(e => ReferenceEquals(e.Space, space)
            && e.Axis.Kind is not (TensorKind.RunningMean or TensorKind.RunningVar));

    /// <summary>Model i's [C, d] rows of one entry, other axes mapped by their points' current matchings, float32.</summary>
    private Tensor Features(Entry entry, int model, Func<string, MatchResult?> matchOf)
    {
        var axis = entry.Axis;
        var length = axis.Length ?? _weights[model][axis.Tensor].shape[axis.Axis] - axis.Offset;
        var tensor = _weights[model][axis.Tensor].detach().narrow(axis.Axis, axis.Offset, length).to(ScalarType.Float32, CPU).clone();
        using (torch.no_grad())
            foreach (var other in _byTensor[axis.Tensor])
            {
                if (other.Axis.Axis == axis.Axis || matchOf(other.Space.Name) is not { } match) continue;
                var c = other.Space.Width;
                if (other.Consumer)
                    AxisTransform.Merge(tensor, other.Axis, match.Merge.narrow(1, model * c, c) * _models);
                else
                    AxisTransform.Unmerge(tensor, other.Axis, match.Unmerge.narrow(0, model * c, c));
            }
        var flat = tensor.movedim([axis.Axis], [0]).reshape(length, -1);
        return torch.nan_to_num(flat, 0, 0, 0);
    }
}
