using System.Diagnostics;
using Microsoft.Extensions.Logging;
using ZipIt.Matching;

namespace ZipIt.Plugins.MuDsc;

/// <summary>
/// The MuDSC procedure (mudsc-method.md §7): match every point on its activation similarity, then
/// sweep the points in a seeded random order, rematching each on α·S_weight + (1 − α)·S_act with
/// the neighbours' latest matchings (Gauss–Seidel), until <see cref="MuDscOptions.Patience"/> sweeps
/// in a row fail to raise the mean merge value over the points; a sweep that does not improve
/// restarts the next one from the best matchings so far, which are the result.
/// </summary>
/// <remarks>
/// Points tied by <see cref="FeatureSpace.GroupTie"/> (a ViT head's q/k and v) are one unit of the
/// sweeps: visiting any of them rematches all of them under one group assignment, at the place of
/// the first one in the sweep's order. Rematching them one by one would let a later visit pair
/// other heads while the earlier member kept the old pairing, and the merged attention would mix
/// heads (the reference code's behaviour, kept behind <c>untie-heads</c>).
/// </remarks>
internal sealed class MuDscSweeps : IDisposable
{
    private readonly MatchContext _context;
    private readonly MuDscOptions _options;
    private readonly IReadOnlyList<MatchPoint> _points;
    private readonly Dictionary<string, float[]> _activation = new(StringComparer.Ordinal);
    // Each point's unit of the sweeps: itself, or every point of its tie (in graph order).
    private readonly Dictionary<string, IReadOnlyList<MatchPoint>> _units = new(StringComparer.Ordinal);
    // A point's weight similarity with the neighbour assignments it was computed from: late sweeps
    // mostly rematch points whose neighbours did not change, and then it is the same matrix.
    private readonly Dictionary<string, (int[]?[] Key, float[] Similarity)> _weightCache = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IReadOnlyList<string>> _neighbours = new(StringComparer.Ordinal);
    private readonly WeightSimilarity? _weights;
    private readonly PointMatcher _matcher;
    private Dictionary<string, PointMatcher.Assignment> _current = new(StringComparer.Ordinal);
    // M and U of the current assignments, built when a neighbour first needs them.
    private readonly Dictionary<string, MatchResult> _matrices = new(StringComparer.Ordinal);

    /// <summary>Seconds spent on weight similarity and on matching, and the sweeps run (for logs and measurements).</summary>
    public double WeightSeconds { get; private set; }
    public double MatchSeconds { get; private set; }
    public int Sweeps { get; private set; }

    public MuDscSweeps(MatchContext context, MuDscOptions options)
    {
        _context = context;
        _options = options;
        _points = context.Points;
        if (options.UsesActivations)
            foreach (var point in _points)
                _activation[point.Name] = Correlation.Compute(MatchInput.Covariance(MuDscMatcher.MatcherName, point, context.ModelCount));
        if (options.UsesWeights)
            _weights = new WeightSimilarity(_points, context.Weights!, context.ModelCount);
        _matcher = new PointMatcher(context, options);
        foreach (var point in _points)
        {
            var tie = options.UntieHeads || GroupMatching.GroupCount(point) is null ? null : point.Space?.GroupTie;
            _units[point.Name] = tie is null
                ? [point]
                : _points.Where(p => p.Space?.GroupTie == tie && GroupMatching.GroupCount(p) is not null).ToList();
        }
    }

    /// <summary>The sweeps' units in <paramref name="order"/>: each tie once, where its first member comes.</summary>
    private List<IReadOnlyList<MatchPoint>> Units(IEnumerable<MatchPoint> order)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var units = new List<IReadOnlyList<MatchPoint>>();
        foreach (var point in order)
            if (seen.Add(_units[point.Name][0].Name)) units.Add(_units[point.Name]);
        return units;
    }

    public IReadOnlyDictionary<string, MatchResult> Run()
    {
        var log = _context.Logger;
        if (_points.Count == 0) return new Dictionary<string, MatchResult>();
        var clock = Stopwatch.StartNew();
        if (_options.UsesActivations)
        {
            // Algorithm 1's first loop: every neighbour has an activation matching before the weights are compared.
            foreach (var unit in Units(_points)) Rematch(unit, unit.Select(p => _activation[p.Name]).ToList());
            MatchSeconds += clock.Elapsed.TotalSeconds;
            log.LogDebug("mudsc: activation matching of {Points} points, objective {Objective:0.######}", _points.Count, Objective());
        }
        if (!_options.UsesWeights) return Results(_current);

        using var order = SweepOrder.Create(_options.Order, _context.Seed, _points);
        Dictionary<string, PointMatcher.Assignment>? best = null;
        var bestObjective = 0.0;
        var stall = 0;
        for (var sweep = 1; sweep <= _options.MaxSweeps; sweep++)
        {
            _context.CancellationToken.ThrowIfCancellationRequested();
            var points = order.Next();
            foreach (var unit in Units(points))
            {
                var start = clock.Elapsed.TotalSeconds;
                var similarities = unit.Select(Similarity).ToList();
                var middle = clock.Elapsed.TotalSeconds;
                Rematch(unit, similarities);
                WeightSeconds += middle - start;
                MatchSeconds += clock.Elapsed.TotalSeconds - middle;
            }
            Sweeps = sweep;
            var objective = Objective();
            var improved = best is null || objective > bestObjective;
            log.LogDebug("mudsc: sweep {Sweep}: objective {Objective:0.######}{Note} (order {Order})", sweep, objective,
                improved ? "" : $", no better than {bestObjective:0.######} ({stall + 1} of {_options.Patience})",
                string.Join(" ", points.Select(p => p.Name)));
            if (improved)
            {
                stall = 0;
                best = new(_current, StringComparer.Ordinal);
                bestObjective = objective;
                continue;
            }
            if (++stall >= _options.Patience) break;
            _current = new(best!, StringComparer.Ordinal);
            ForgetMatrices();
        }
        ForgetMatrices();
        return Results(best!);
    }

    /// <summary>The point's blended similarity with the current neighbours.</summary>
    private float[] Similarity(MatchPoint point)
    {
        if (!_neighbours.TryGetValue(point.Name, out var neighbours))
            _neighbours[point.Name] = neighbours = _weights!.Neighbours(point.Space!);
        var key = neighbours.Select(n => _current.TryGetValue(n, out var a) ? a.FeatureOf : null).ToArray();
        float[] weight;
        if (_weightCache.TryGetValue(point.Name, out var cached) && cached.Key.SequenceEqual(key, ReferenceEqualityComparer.Instance))
            weight = (float[])cached.Similarity.Clone();
        else
        {
            weight = _weights!.Compute(point.Space!, MatricesOf, name => _current.TryGetValue(name, out var a) ? a.FeatureOf : null);
            _weightCache[point.Name] = (key, (float[])weight.Clone());
        }
        if (_options.UsesActivations)
        {
            var activation = _activation[point.Name];
            float a = (float)_options.Balance, b = (float)(1 - _options.Balance);
            for (var k = 0; k < weight.Length; k++) weight[k] = a * weight[k] + b * activation[k];
        }
        return weight;
    }

    private void Rematch(IReadOnlyList<MatchPoint> unit, IReadOnlyList<float[]> similarities)
    {
        var assignments = _matcher.Match(unit, similarities);
        for (var i = 0; i < unit.Count; i++)
        {
            var (point, assignment) = (unit[i], assignments[i]);
            if (_current.TryGetValue(point.Name, out var old) && old.FeatureOf.AsSpan().SequenceEqual(assignment.FeatureOf))
            {
                // Same matching: keep the array, so that the neighbours' cached similarities stay valid.
                _current[point.Name] = assignment with { FeatureOf = old.FeatureOf };
                continue;
            }
            _current[point.Name] = assignment;
            if (_matrices.Remove(point.Name, out var matrices)) Dispose(matrices);
        }
    }

    public void Dispose()
    {
        ForgetMatrices();
        _weights?.Dispose();
    }

    private MatchResult? MatricesOf(string name)
    {
        if (!_current.TryGetValue(name, out var assignment)) return null;
        if (!_matrices.TryGetValue(name, out var matrices))
        {
            // Asked for inside the similarity's dispose scope, but they live until the point is rematched.
            matrices = MatchMatrices.FromAssignment(assignment.FeatureOf, assignment.FeatureOf.Length / _context.ModelCount, _options.Epsilon);
            matrices.Merge.DetachFromDisposeScope();
            matrices.Unmerge.DetachFromDisposeScope();
            _matrices[name] = matrices;
        }
        return matrices;
    }

    private void ForgetMatrices()
    {
        foreach (var m in _matrices.Values) Dispose(m);
        _matrices.Clear();
    }

    private static void Dispose(MatchResult m)
    {
        m.Merge.Dispose();
        m.Unmerge.Dispose();
    }

    private double Objective() => _current.Values.Average(v => v.Objective);

    private IReadOnlyDictionary<string, MatchResult> Results(Dictionary<string, PointMatcher.Assignment> matches) =>
        _points.ToDictionary(p => p.Name, p => MatchMatrices.FromAssignment(matches[p.Name].FeatureOf, p.Width, _options.Epsilon), StringComparer.Ordinal);
}
