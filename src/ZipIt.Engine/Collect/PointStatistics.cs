using static TorchSharp.torch;

namespace ZipIt.Engine.Collect;

/// <summary>
/// What collect produces and match consumes: for each merge point, the float64 covariance
/// [N·C, N·C] and mean [N·C] of the N models' stacked features (on the CPU). It owns the tensors:
/// dispose it on every path.
/// </summary>
internal sealed class PointStatistics(IReadOnlyDictionary<string, (Tensor Covariance, Tensor Mean)> points, int models, long images) : IDisposable
{
    /// <summary>No statistics (data-free matchers).</summary>
    public static PointStatistics None(int models) => new(new Dictionary<string, (Tensor, Tensor)>(), models, 0);

    /// <summary>N.</summary>
    public int Models { get; } = models;

    /// <summary>Calibration images the statistics were accumulated over.</summary>
    public long Images { get; } = images;

    /// <summary>The points with statistics.</summary>
    public IEnumerable<string> Names => points.Keys;

    public bool Contains(string point) => points.ContainsKey(point);

    /// <summary>The point's covariance and mean; throws naming the point when it was not collected.</summary>
    public (Tensor Covariance, Tensor Mean) this[string point] =>
        points.TryGetValue(point, out var s) ? s : throw new KeyNotFoundException($"no statistics for merge point '{point}'");

    public bool TryGet(string point, out (Tensor Covariance, Tensor Mean) statistics) => points.TryGetValue(point, out statistics);

    public void Dispose()
    {
        foreach (var (c, m) in points.Values)
        {
            c.Dispose();
            m.Dispose();
        }
    }
}
