namespace ZipIt;

/// <summary>
/// Turns the statistics of merge points (and, when it asks for them, the models' weights) into one
/// merge matrix M (C × N·C) and one unmerge matrix U (N·C × C) per point. Built in: <c>zipit</c>,
/// <c>permute</c>, <c>average</c>; plugins add more (MuDSC). A matcher sees all points at once so
/// that iterative methods (MuDSC's sweeps over the graph) fit the same contract as point-wise ones.
/// </summary>
public interface IMatcher
{
    /// <summary>Name used by <c>--matcher</c>; lower case.</summary>
    string Name { get; }

    /// <summary>One line for <c>plugins list</c> and help.</summary>
    string Description { get; }

    /// <summary>Settings the matcher reads from <see cref="MatchContext.Settings"/> (<c>alpha</c>, <c>beta</c>, ...).</summary>
    IReadOnlyList<MatcherParameter> Parameters { get; }

    /// <summary>
    /// Named settings the matcher recommends (<c>--preset NAME</c>; one <c>reproduce</c> row each).
    /// Empty by default: the matcher is one method with its default settings.
    /// </summary>
    IReadOnlyList<MatcherPreset> Presets => [];

    /// <summary>
    /// What the matcher needs for these settings, so the host can collect only that and refuse early
    /// (exit 2) when it is missing: e.g. MuDSC with balance 1 needs weights but no activations.
    /// Throws <see cref="ArgumentException"/> for invalid settings.
    /// </summary>
    MatcherInputs RequiredInputs(MatcherSettings settings);

    /// <summary>
    /// Matches every point of <see cref="MatchContext.Points"/> and returns one result per point name.
    /// Must not modify the input tensors. Throws <see cref="ArgumentException"/> for bad settings or
    /// missing inputs (the message is shown to the user).
    /// </summary>
    IReadOnlyDictionary<string, MatchResult> Match(MatchContext context);
}
