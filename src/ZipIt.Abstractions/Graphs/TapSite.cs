namespace ZipIt;

/// <summary>Where a feature tap observes a module.</summary>
public enum TapSite
{
    /// <summary>The module's input (a forward pre-hook): ZipIt!'s PREFIX nodes.</summary>
    Input,
    /// <summary>The module's output (a forward hook): ZipIt!'s POSTFIX nodes.</summary>
    Output,
}
