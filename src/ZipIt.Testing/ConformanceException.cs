namespace ZipIt.Testing;

/// <summary>
/// A plugin failed a conformance check. The message names the configuration, the check and what is
/// wrong (the tensor and axis where known), so a test framework's failure report is enough to fix it.
/// </summary>
public sealed class ConformanceException : Exception
{
    /// <summary>A failed check described by <paramref name="message"/>.</summary>
    public ConformanceException(string message) : base(message) { }

    /// <summary>A failed check described by <paramref name="message"/>, caused by <paramref name="inner"/> (an exception the plugin threw).</summary>
    public ConformanceException(string message, Exception inner) : base(message, inner) { }
}
