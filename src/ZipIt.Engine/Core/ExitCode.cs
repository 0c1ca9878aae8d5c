namespace ZipIt.Engine.Core;

/// <summary>The process exit codes of <c>dotnet zipit</c>; documented in <c>--help</c> and the README.</summary>
public enum ExitCode
{
    /// <summary>The command did what was asked.</summary>
    Ok = 0,
    /// <summary>An unexpected failure (a bug): please report it.</summary>
    Unexpected = 1,
    /// <summary>Bad usage: an unknown option, a bad value, a bad recipe.</summary>
    Usage = 2,
    /// <summary>Bad input: a missing or corrupt file, a missing tensor, a shape that does not fit.</summary>
    Input = 3,
    /// <summary>A plugin could not be found or loaded, or failed.</summary>
    Plugin = 4,
    /// <summary>A resource is unavailable: out of memory, the device asked for is not there.</summary>
    Resource = 5,
}
