using ZipIt.Engine.Core;

namespace ZipIt.Engine.Output;

/// <summary>Writes a text file through a temporary file in the same folder (<see cref="TempFiles"/>) and a rename: readers never see half a report.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>
    /// Files that appear together or not at all: each write runs in turn to its temp, then every
    /// temp is renamed in one step (<see cref="TempFiles.BeginBatch"/>); a failure or a signal before
    /// that step leaves none of them.
    /// </summary>
    public static void Together(IReadOnlyList<(string Path, Action Write)> writes)
    {
        using var batch = TempFiles.BeginBatch();
        foreach (var (_, write) in writes) write();
        batch.Commit();
    }

    private static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        string? temp = null;
        try
        {
            Directory.CreateDirectory(dir);
            temp = TempFiles.Create(full);
            write(temp);
            // A command cancelled while it wrote leaves nothing, not a finished file.
            TempFiles.Rename([(temp, full)]);
            temp = null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZipItException.Resource($"{path}: cannot write ({e.Message})", e);
        }
        finally
        {
            if (temp is not null) TempFiles.Delete(temp);
        }
    }
}
