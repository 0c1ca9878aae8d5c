using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace ZipIt.Output;

/// <summary>
/// The process-wide registry of the temporary files zipit writes before renaming them over their
/// targets. Each is named <c>.NAME.zipit-tmp-PID-RANDOM</c> beside its target, so that a later run
/// can tell its own stale temps from anyone else's files: when zipit first writes into a folder it
/// deletes the temps of that naming whose process is no longer alive (a <c>kill -9</c> leaves them).
/// </summary>
/// <remarks>
/// A command runs inside a <see cref="Scope"/> (the command runner opens one): temps registered
/// while it runs and not committed or deleted by the time it ends are deleted then, and a cancelled
/// scope makes <see cref="ThrowIfCancelled"/> stop a write before its rename. <see cref="DeleteAll"/>
/// removes every live temp of the process; the signal handler calls it before letting a second
/// signal terminate the process.
/// </remarks>
internal static partial class TempFiles
{
    private const string Marker = ".zipit-tmp-";

    private static readonly ConcurrentDictionary<string, Scope?> Live = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, byte> Swept = new(StringComparer.Ordinal);
    private static readonly AsyncLocal<Scope?> Current = new();

    [GeneratedRegex(@"^\..+\.zipit-tmp-(?<pid>[0-9]+)-[0-9a-f]{12}(\.[A-Za-z0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex TempName();

    /// <summary>The temps registered now (for tests and diagnostics).</summary>
    public static IReadOnlyCollection<string> Pending => Live.Keys.ToArray();

    /// <summary>
    /// A fresh temporary path beside <paramref name="target"/>, registered until <see cref="Committed"/>
    /// or <see cref="Delete"/>. The folder's stale temps are removed first (once per folder and process).
    /// <paramref name="suffix"/> (e.g. <c>.safetensors</c>) ends the name, for temps that are read back by extension.
    /// </summary>
    public static string Create(string target, string suffix = "")
    {
        var full = Path.GetFullPath(target);
        var dir = Path.GetDirectoryName(full)!;
        RemoveStale(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}{Marker}{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}{suffix}");
        Live[temp] = Current.Value;
        return temp;
    }

    /// <summary>The temp was renamed over its target: it no longer needs deleting.</summary>
    public static void Committed(string temp) => Live.TryRemove(temp, out _);

    /// <summary>Deletes <paramref name="temp"/> (if it exists) and forgets it; never throws for I/O.</summary>
    public static void Delete(string temp)
    {
        TryDelete(temp);
        Live.TryRemove(temp, out _);
    }

    /// <summary>Deletes every temp of this process that is still registered; returns how many were registered.</summary>
    public static int DeleteAll()
    {
        var count = 0;
        foreach (var temp in Live.Keys)
        {
            Delete(temp);
            count++;
        }
        return count;
    }

    /// <summary>Throws <see cref="OperationCanceledException"/> when the current command was cancelled.</summary>
    public static void ThrowIfCancelled() => Current.Value?.Token.ThrowIfCancellationRequested();

    /// <summary>Whether <paramref name="fileName"/> is a zipit temp, and of which process.</summary>
    public static bool IsTempName(string fileName, out int pid)
    {
        pid = 0;
        var m = TempName().Match(fileName);
        return m.Success && int.TryParse(m.Groups["pid"].ValueSpan, out pid);
    }

    /// <summary>
    /// Deletes the zipit temps in <paramref name="folder"/> whose process is gone; once per folder
    /// and process. A temp whose process id has since been reused by a live process is left (it
    /// goes on a later run). Returns how many were deleted.
    /// </summary>
    public static int RemoveStale(string folder, bool force = false)
    {
        var full = Path.GetFullPath(folder);
        if (!force && !Swept.TryAdd(full, 0)) return 0;
        if (!Directory.Exists(full)) return 0;
        var removed = 0;
        try
        {
            foreach (var path in Directory.EnumerateFiles(full, "." + "*" + Marker + "*"))
            {
                if (!IsTempName(Path.GetFileName(path), out var pid) || pid == Environment.ProcessId || IsAlive(pid)) continue;
                if (TryDelete(path)) removed++;
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return removed;
    }

    private static bool IsAlive(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }

    private static bool TryDelete(string path)
    {
        try
        {
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Opens a command's scope: its cancellation, and cleanup of its temps when it ends.</summary>
    public static Scope Begin(CancellationToken token) => new(token);

    /// <summary>One command's temps and cancellation; disposing deletes the temps it left registered.</summary>
    public sealed class Scope : IDisposable
    {
        private readonly Scope? _outer;

        internal Scope(CancellationToken token)
        {
            Token = token;
            _outer = Current.Value;
            Current.Value = this;
        }

        public CancellationToken Token { get; }

        public void Dispose()
        {
            foreach (var (temp, owner) in Live)
                if (ReferenceEquals(owner, this)) Delete(temp);
            Current.Value = _outer;
        }
    }
}
