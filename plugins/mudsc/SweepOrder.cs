using static TorchSharp.torch;

namespace ZipIt.Plugins.MuDsc;

/// <summary>How the sweeps draw their order of the points (matcher setting <c>sweep-order</c>).</summary>
internal enum SweepOrderKind
{
    /// <summary>
    /// The reference code's order: one libtorch CPU generator seeded with the run's seed, and
    /// <c>randperm(points)</c> from it for every sweep, so a seed gives the order PyTorch gives it.
    /// </summary>
    Randperm,

    /// <summary>.NET's <see cref="Random.Shuffle{T}(T[])"/> of the previous sweep's order, seeded with the run's seed (zipit's order before <c>randperm</c> became the default; kept for comparison).</summary>
    Shuffle,
}

/// <summary>The order of the points for each sweep, drawn from the run's seed.</summary>
internal abstract class SweepOrder : IDisposable
{
    public static SweepOrder Create(SweepOrderKind kind, long seed, IReadOnlyList<MatchPoint> points) => kind switch
    {
        SweepOrderKind.Randperm => new RandpermOrder(seed, points),
        SweepOrderKind.Shuffle => new ShuffleOrder(seed, points),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The next sweep's order of every point.</summary>
    public abstract IReadOnlyList<MatchPoint> Next();

    public virtual void Dispose() { }

    private sealed class RandpermOrder(long seed, IReadOnlyList<MatchPoint> points) : SweepOrder
    {
        // torch.Generator().manual_seed(seed): the reference seeds a fresh CPU generator per run.
        private readonly Generator _generator = new(unchecked((ulong)seed));

        public override IReadOnlyList<MatchPoint> Next()
        {
            using var order = randperm(points.Count, generator: _generator);
            return order.data<long>().ToArray().Select(i => points[(int)i]).ToList();
        }

        public override void Dispose() => _generator.Dispose();
    }

    private sealed class ShuffleOrder(long seed, IReadOnlyList<MatchPoint> points) : SweepOrder
    {
        private readonly Random _random = new(unchecked((int)seed ^ (int)(seed >> 32)));
        private readonly MatchPoint[] _order = points.ToArray();

        public override IReadOnlyList<MatchPoint> Next()
        {
            _random.Shuffle(_order);
            return _order.ToArray();
        }
    }
}
