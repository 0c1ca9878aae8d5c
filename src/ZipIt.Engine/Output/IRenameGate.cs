namespace ZipIt.Engine.Output;

/// <summary>
/// Orders a command's renames with its cancellation (<see cref="TempFiles.Rename"/>): a signal
/// either cancels the command before its renames begin or waits until they are done.
/// </summary>
internal interface IRenameGate
{
    /// <summary>Throws <see cref="OperationCanceledException"/> when the command is cancelled; otherwise renames begin, and a signal from now on waits for <see cref="Exit"/>.</summary>
    void Enter(IReadOnlyList<string> targets);

    /// <summary>Just before <paramref name="target"/> is renamed into place.</summary>
    void Moving(string target);

    /// <summary>Just after <paramref name="target"/> came into place.</summary>
    void Moved(string target);

    /// <summary>The renames are done (or failed); a signal that waited takes effect now.</summary>
    void Exit();
}
