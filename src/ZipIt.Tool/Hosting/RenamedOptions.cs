namespace ZipIt.Hosting;

/// <summary>
/// Options a command had under another name: their old spelling gets the new one named, rather
/// than a bare "unknown option", so command lines from older docs and scripts are easy to fix.
/// </summary>
internal static class RenamedOptions
{
    private static readonly (string[] Commands, string Old, string Hint)[] Renames =
    [
        (["init", "train", "inspect", "reproduce", "demo"], "--set",
            "architecture settings are --arch-set NAME=VALUE; --set is for matcher settings (match, merge)"),
        (["train"], "--task", "train's data is --data DATASET[:CLASSES] or an image folder; --task is an evaluation task NAME=CLASSES (evaluate, merge)"),
    ];

    /// <summary>What replaced <paramref name="option"/> on <paramref name="command"/>, or null when it was never renamed there.</summary>
    public static string? Hint(string command, string option) =>
        Renames.FirstOrDefault(r => r.Old == option && r.Commands.Contains(command)).Hint;
}
