using System.Diagnostics;

namespace ZipIt.Engine.Refit;

/// <summary>
/// Where a refit's time goes: the forward passes of the models (with the hooks that map their
/// activations into the merged layout), the float64 moments (patches unfolded, Gram and
/// cross-moment products) and the solves. The first is what a refit costs in passes; the other two
/// are its least-squares work, which a pass does not bound.
/// </summary>
internal sealed class RefitSeconds
{
    private readonly Stopwatch _forward = new();
    private readonly Stopwatch _moments = new();
    private readonly Stopwatch _solves = new();

    public double Forward => _forward.Elapsed.TotalSeconds;
    public double Moments => _moments.Elapsed.TotalSeconds;
    public double Solves => _solves.Elapsed.TotalSeconds;

    public T TimeForward<T>(Func<T> step) => Time(_forward, step);
    public void TimeMoments(Action step) => Time(_moments, () => { step(); return 0; });
    public T TimeSolve<T>(Func<T> step) => Time(_solves, step);

    private static T Time<T>(Stopwatch clock, Func<T> step)
    {
        clock.Start();
        try { return step(); }
        finally { clock.Stop(); }
    }
}
