namespace ZipIt;

/// <summary>
/// A variant of a <see cref="MatcherPreset"/> that <c>reproduce</c> evaluates in a row right after
/// the preset's, to show what a setting changes (MuDSC-align with heads untied, as the reference
/// code matches them).
/// </summary>
/// <param name="Label">How the table names the row, e.g. <c>MuDSC-align (untied)</c>.</param>
/// <param name="Settings">Setting values over the preset's.</param>
/// <param name="Description">One line.</param>
public sealed record MatcherComparison(string Label, IReadOnlyDictionary<string, string> Settings, string Description)
{
    /// <summary>Shown only for models whose graph ties grouped points (attention heads' q/k and v), where the variant differs from the preset.</summary>
    public bool OnlyWithTiedGroups { get; init; }
}
