using ZipIt.Engine.Output;
using System.Runtime.InteropServices;
using ZipIt.Engine.Checkpoints;
using ZipIt.Engine.Core;

namespace ZipIt.Engine.Checkpoints;

/// <summary>
/// Checks, before a command does any work, that its outputs can be written and destroy no input:
/// an output that is one of the command's inputs (the same file after resolving relative paths and
/// symbolic links, or a file of an input checkpoint folder or sharded index) is a usage error
/// (exit 2) naming both options, and so are two outputs that name one file.
/// </summary>
internal static class OutputGuard
{
    /// <summary>A path given to an option (<c>--data</c>, <c>-o</c>, an argument named <c>model</c>...).</summary>
    public readonly record struct Named(string Option, string? Path);

    /// <summary>Exit 2 when an output names an input or another output; null paths are skipped.</summary>
    public static void RequireDistinct(IEnumerable<Named> inputs, IEnumerable<Named> outputs)
    {
        var inputFiles = new List<(Named Input, string File)>();
        foreach (var input in inputs)
            if (input.Path is not null)
                foreach (var file in FilesOf(input.Path))
                    inputFiles.Add((input, file));

        var seen = new List<(Named Output, string File)>();
        foreach (var output in outputs)
        {
            if (output.Path is null) continue;
            var file = Canonical(output.Path);
            foreach (var (input, inputFile) in inputFiles)
                if (inputFile == file)
                    throw ZipItException.Usage(
                        $"{output.Option} {output.Path} is the file given as {input.Option} ({input.Path}); zipit never overwrites an input: choose another {output.Option}");
            foreach (var (other, otherFile) in seen)
                if (otherFile == file)
                    throw ZipItException.Usage($"{output.Option} and {other.Option} name the same file ({output.Path}); give each its own file");
            seen.Add((output, file));
        }
    }

    /// <summary>
    /// Exit 5 naming <paramref name="option"/> when <paramref name="path"/>'s folder cannot be
    /// written (missing, not a folder, read-only): checked by creating and deleting a temp file there,
    /// so a long command fails before its work, not after.
    /// </summary>
    public static void RequireWritable(string option, string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full)) throw ZipItException.Usage($"{option} {path}: is a folder; a file name is needed");
        var folder = System.IO.Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw ZipItException.Resource($"{option} {path}: cannot write (folder {folder} does not exist)");
        string? probe = null;
        try
        {
            probe = TempFiles.Create(full);
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ZipItException.Resource($"{option} {path}: cannot write into {folder} ({Messages.OneLine(e.Message)})", e);
        }
        finally
        {
            if (probe is not null) TempFiles.Delete(probe);
        }
    }

    /// <summary>The canonical files an input path stands for: itself, or every file of a checkpoint folder or a sharded index's folder.</summary>
    private static IEnumerable<string> FilesOf(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        yield return Canonical(full);
        var folder = Directory.Exists(full) ? full
            : full.EndsWith(Checkpoint.IndexFileName, StringComparison.Ordinal) ? System.IO.Path.GetDirectoryName(full) : null;
        if (folder is null || !Directory.Exists(folder)) yield break;
        IEnumerable<string> files;
        try { files = Directory.EnumerateFiles(folder).ToList(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { yield break; }
        foreach (var f in files)
            if (f.EndsWith(".safetensors", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
                yield return Canonical(f);
    }

    /// <summary>The absolute path with every symbolic link resolved (the folder's, when the file does not exist yet).</summary>
    internal static string Canonical(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (RealPath(full) is { } real) return real;
        var folder = System.IO.Path.GetDirectoryName(full);
        return folder is not null && RealPath(folder) is { } realFolder ? System.IO.Path.Combine(realFolder, System.IO.Path.GetFileName(full)) : full;
    }

    private static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            try
            {
                var info = new FileInfo(path);
                return info.Exists ? (info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName) : null;
            }
            catch (IOException) { return null; }
        }
        var resolved = realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { free(resolved); }
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

    [DllImport("libc")]
    private static extern void free(IntPtr pointer);
}
