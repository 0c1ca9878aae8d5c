namespace ZipIt;

/// <summary>
/// A named set of settings a matcher recommends (MuDSC's <c>zip</c> and <c>align</c>): users pick it
/// with <c>--preset NAME</c>, and <c>reproduce</c> evaluates one table row per preset, so the host
/// never needs to know any one matcher's settings.
/// </summary>
/// <param name="Name">Lower-case name, e.g. <c>align</c>.</param>
/// <param name="Label">How a results table names the method, e.g. <c>MuDSC-align</c>.</param>
/// <param name="Settings">Setting values of <see cref="IMatcher.Parameters"/> (invariant culture); others keep their defaults.</param>
/// <param name="Description">One line.</param>
public sealed record MatcherPreset(string Name, string Label, IReadOnlyDictionary<string, string> Settings, string Description)
{
    /// <summary>Variants of this preset that a results table shows beside it (e.g. with heads untied, as the reference code).</summary>
    public IReadOnlyList<MatcherComparison> Comparisons { get; init; } = [];
}
