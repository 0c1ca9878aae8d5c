using ZipIt.Core;

namespace ZipIt.Output;

/// <summary>Writes a text file through a temporary file in the same folder (<see cref="TempFiles"/>) and a rename: readers never see half a report.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    /// <summary>
    /// Files that appear together or not at all: each write (itself atomic) in turn; when one fails,
    /// the files the earlier ones wrote are deleted before the failure goes on.
    /// </summary>
    public static void Together(IReadOnlyList<(string Path, Action Write)> writes)
    {
        var done = new List<string>();
        try
        {
            foreach (var (path, write) in writes)
            {
                write();
                done.Add(path);
            }
        }
        catch
        {
            foreach (var path in done)
                try { File.Delete(path); }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            throw;
        }
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
            TempFiles.ThrowIfCancelled();
            File.Move(temp, full, overwrite: true);
            TempFiles.Committed(temp);
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
