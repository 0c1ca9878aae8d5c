namespace ZipIt.Engine.Output;

/// <summary>How long loops show their progress on stderr.</summary>
internal enum ProgressMode
{
    /// <summary>Not at all (not a terminal, <c>--json</c> without <c>--progress</c>, or <c>--verbosity q</c>).</summary>
    None,

    /// <summary>A live bar with ETA (stderr is a terminal).</summary>
    Bar,

    /// <summary>A line at every tenth of the work, with ETA (<c>--progress</c> on a non-terminal: a log file, CI).</summary>
    Lines,
}
