using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace ZipIt.Engine.Output;

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

    /// <summary>
    /// Renames finished temps over their targets, in order: the one way a zipit output comes into
    /// place. The last cancellation check happens before the first rename, under the command's
    /// <see cref="IRenameGate"/>, so a signal lands either before it (nothing renamed, the command
    /// is cancelled) or after it (every rename is done; the signal waits for them). Inside an open
    /// <see cref="Batch"/> the renames wait for <see cref="Batch.Commit"/> instead, so that several
    /// files come into place in one such step. On a failure, targets renamed by this call are
    /// deleted and the remaining temps too.
    /// </summary>
    public static void Rename(IReadOnlyList<(string Temp, string Target)> moves)
    {
        var scope = Current.Value;
        if (scope?.OpenBatch is { } batch)
        {
            batch.Add(moves);
            return;
        }
        MoveAll(scope, moves);
    }

    private static void MoveAll(Scope? scope, IReadOnlyList<(string Temp, string Target)> moves)
    {
        var gate = scope?.Gate;
        if (gate is null) scope?.Token.ThrowIfCancellationRequested();
        else gate.Enter(moves.Select(m => m.Target).ToArray());
        var renamed = new List<string>();
        var current = moves.Count > 0 ? moves[0].Target : "";
        try
        {
            foreach (var (temp, target) in moves)
            {
                current = target;
                gate?.Moving(target);
                File.Move(temp, target, overwrite: true);
                Committed(temp);
                renamed.Add(target);
                gate?.Moved(target);
            }
        }
        catch (Exception e)
        {
            foreach (var path in renamed) TryDelete(path);
            foreach (var (temp, _) in moves) Delete(temp);
            if (e is IOException or UnauthorizedAccessException)
                throw ZipIt.Engine.Core.ZipItException.Resource($"cannot write {current}: {ZipIt.Engine.Core.Messages.OneLine(e.Message)}", e);
            throw;
        }
        finally
        {
            gate?.Exit();
        }
    }

    /// <summary>
    /// Opens a batch in the current command: the renames of every write until <see cref="Batch.Commit"/>
    /// happen together there, so the files appear together or not at all. Disposing an uncommitted
    /// batch deletes its temps.
    /// </summary>
    public static Batch BeginBatch()
    {
        var scope = Current.Value ?? throw new InvalidOperationException("a batch of writes needs a command scope");
        if (scope.OpenBatch is not null) throw new InvalidOperationException("batches of writes do not nest");
        return scope.OpenBatch = new Batch(scope);
    }

    /// <summary>Writes whose renames wait for one <see cref="Commit"/>.</summary>
    public sealed class Batch : IDisposable
    {
        private readonly Scope _scope;
        private readonly List<(string Temp, string Target)> _moves = [];

        internal Batch(Scope scope) => _scope = scope;

        internal void Add(IReadOnlyList<(string Temp, string Target)> moves) => _moves.AddRange(moves);

        /// <summary>Renames every temp of the batch into place, as one step (see <see cref="Rename"/>).</summary>
        public void Commit()
        {
            _scope.OpenBatch = null;
            var moves = _moves.ToArray();
            _moves.Clear();
            MoveAll(_scope, moves);
        }

        public void Dispose()
        {
            if (ReferenceEquals(_scope.OpenBatch, this)) _scope.OpenBatch = null;
            foreach (var (temp, _) in _moves) Delete(temp);
            _moves.Clear();
        }
    }

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

    /// <summary>
    /// Opens a command's scope: its cancellation, and cleanup of its temps when it ends. With a
    /// <paramref name="gate"/>, renames are ordered with the command's signals (see <see cref="Rename"/>).
    /// </summary>
    public static Scope Begin(CancellationToken token, IRenameGate? gate = null) => new(token, gate);

    /// <summary>One command's temps and cancellation; disposing deletes the temps it left registered.</summary>
    public sealed class Scope : IDisposable
    {
        private readonly Scope? _outer;

        internal Scope(CancellationToken token, IRenameGate? gate)
        {
            Token = token;
            Gate = gate;
            _outer = Current.Value;
            Current.Value = this;
        }

        public CancellationToken Token { get; }

        internal IRenameGate? Gate { get; }

        internal Batch? OpenBatch { get; set; }

        public void Dispose()
        {
            foreach (var (temp, owner) in Live)
                if (ReferenceEquals(owner, this)) Delete(temp);
            Current.Value = _outer;
        }
    }
}
