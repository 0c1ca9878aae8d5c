using System.Diagnostics;

namespace ZipIt.Engine.Merge;

/// <summary>
/// Seconds per stage (<c>load</c>, <c>hash</c>, <c>resetBnBase</c>, <c>collect</c>, <c>match</c>,
/// <c>zip</c>, <c>resetBnMerged</c>, <c>evaluate</c>, and whatever a command adds such as
/// <c>write</c>): the one clock every stage of a session, and the command around it, is timed by.
/// A stage run twice adds up.
/// </summary>
internal sealed class StageClock
{
    private readonly Dictionary<string, double> _seconds = [];

    /// <summary>
    /// The stages whose time is forward passes over the calibration data: two base BN resets,
    /// collection (both models) and the merged BN reset. <c>merge</c>'s floor.
    /// </summary>
    public static readonly string[] ForwardStages = ["resetBnBase", "collect", "resetBnMerged"];

    public IReadOnlyDictionary<string, double> Seconds => _seconds;

    public T Time<T>(string stage, Func<T> step)
    {
        var clock = Stopwatch.StartNew();
        try { return step(); }
        finally { _seconds[stage] = _seconds.GetValueOrDefault(stage) + clock.Elapsed.TotalSeconds; }
    }

    public void Time(string stage, Action step) => Time(stage, () => { step(); return 0; });

    /// <summary>A copy of the seconds so far, to subtract from a later copy (what one table row cost).</summary>
    public Dictionary<string, double> Snapshot() => new(_seconds);
}
