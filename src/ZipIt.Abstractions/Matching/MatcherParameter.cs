namespace ZipIt;

/// <summary>A setting a matcher understands: its name (a recipe key and a <c>--name</c> option), default and meaning.</summary>
/// <param name="Name">Lower-case name, e.g. <c>alpha</c>.</param>
/// <param name="Default">Default value in invariant culture.</param>
/// <param name="Description">One line.</param>
public sealed record MatcherParameter(string Name, string Default, string Description);
