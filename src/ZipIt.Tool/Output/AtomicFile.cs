using ZipIt.Core;

namespace ZipIt.Output;

/// <summary>Writes a text file through a temporary file in the same folder and a rename: readers never see half a report.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, temp => File.WriteAllBytes(temp, bytes));

    private static void Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(dir);
            write(temp);
            File.Move(temp, full, overwrite: true);
        }
        catch (IOException e)
        {
            File.Delete(temp);
            throw ZipItException.Resource($"{path}: cannot write ({e.Message})", e);
        }
        catch (UnauthorizedAccessException e)
        {
            File.Delete(temp);
            throw ZipItException.Resource($"{path}: cannot write ({e.Message})", e);
        }
    }
}
