using ZipIt.Cli;

namespace ZipIt.Output;

/// <summary>Writes a text file through a temporary file in the same folder and a rename: readers never see half a report.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.tmp-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(temp, text);
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
