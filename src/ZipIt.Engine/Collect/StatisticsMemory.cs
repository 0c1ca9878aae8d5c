namespace ZipIt.Engine.Collect;

/// <summary>
/// Bytes the statistics of a merge take, from the points' widths alone. Per point of O = N·C units,
/// <see cref="CovarianceAccumulator"/> keeps one float64 O×O sum of centred products (and an
/// O-vector per batch) while it accumulates; each batch adds a float32 product of at most C×C ≤ O×O
/// for the point being added. Finishing a point makes three float64 O×O matrices (the scaled sum,
/// the batch means' spread, the symmetrised result) while the unfinished points' sums and the
/// finished covariances are held; each point's sum is freed once it is finished.
/// <see cref="PointStatistics"/> then keeps one O×O float64 covariance and mean per point.
/// </summary>
internal static class StatisticsMemory
{
    /// <summary>Σ O² over <paramref name="spaces"/> and the largest O², for <paramref name="models"/> models.</summary>
    private static (double Sum, double Max) Squares(IEnumerable<FeatureSpace> spaces, int models)
    {
        var squares = spaces.Select(s => Math.Pow((double)models * s.Width, 2)).ToList();
        return (squares.Sum(), squares.DefaultIfEmpty(0).Max());
    }

    /// <summary>While accumulating: the sums of every point plus one point's per-batch products.</summary>
    public static long Accumulating(IEnumerable<FeatureSpace> spaces, int models)
    {
        var (sum, max) = Squares(spaces, models);
        return Bytes(8 * sum + 4 * max);
    }

    /// <summary>While finishing: the unfinished points' sums plus the covariances finished so far, and one point's temporaries.</summary>
    public static long Finishing(IEnumerable<FeatureSpace> spaces, int models)
    {
        var (sum, max) = Squares(spaces, models);
        return Bytes(8 * sum + 24 * max);
    }

    /// <summary>The finished statistics (<see cref="PointStatistics"/>): one float64 covariance and mean per point.</summary>
    public static long Finished(IEnumerable<FeatureSpace> spaces, int models) => Bytes(8 * Squares(spaces, models).Sum);

    /// <summary>The largest O×O float64 matrix: the unit of a matcher's per-point work (correlations, their copies).</summary>
    public static long LargestMatrix(IEnumerable<FeatureSpace> spaces, int models) => Bytes(8 * Squares(spaces, models).Max);

    private static long Bytes(double value) => value >= long.MaxValue ? long.MaxValue : (long)value;
}
