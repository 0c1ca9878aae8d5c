using System.Runtime.InteropServices;
using ZipIt.Engine.Output;

namespace ZipIt.Hosting;

/// <summary>
/// Turns SIGINT, SIGTERM and SIGHUP into cancellation of one command: the first signal cancels the
/// token (the command unwinds, deletes its temps and exits 130); a second one deletes every temp
/// of the process and lets the signal terminate it, for a command stuck in a long native call.
/// </summary>
/// <remarks>
/// <para>A run either completes or is cancelled, whenever the signal lands. As the command's
/// <see cref="IRenameGate"/>, it makes the last cancellation check and the start of the renames
/// one step: a signal after that step waits until the files are in place, and then counts only for
/// work still to come (a command that has written its outputs has nothing left to cancel). Once the
/// command has ended, a signal changes nothing: in the tool's own process
/// (<see cref="HoldAfterCommand"/>) it is ignored until the process exits, so the exit code is the
/// command's.</para>
/// <para>The signals are registered once per process and handed to every command running; a
/// registration per command would let a signal that lands while one is disposed reach a disposed
/// token source.</para>
/// <para>For tests only, <c>ZIPIT_TEST_SIGNAL</c> (or the configuration key <c>TEST_SIGNAL</c>)
/// raises a signal, as the handler would receive it, at one point of the run, so that every instant
/// can be tested without timing: <c>commit:NAME</c> just before the renames that bring file NAME into
/// place begin, <c>rename:NAME</c> just before NAME's rename, <c>renamed:NAME</c> just after it,
/// <c>end</c> after the command's body returned and <c>exit</c> after the command ended.</para>
/// </remarks>
internal sealed class SignalCancellation : IDisposable, IRenameGate
{
    public const string TestHookKey = "TEST_SIGNAL";

    private static readonly PosixSignal[] Signals = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];
    private static readonly object Registry = new();
    private static readonly List<SignalCancellation> Running = [];
    private static List<PosixSignalRegistration>? _registrations;
    private static bool _ended;

    private readonly object _gate = new();
    private readonly CancellationTokenSource _source;
    private readonly (string Point, string? Name)? _hook;
    private int _received;
    private int _renaming;
    private bool _waiting;
    private bool _disposed;
    private bool _hookFired;

    public SignalCancellation(CancellationToken outer, string? testHook = null)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _hook = ParseHook(testHook);
        lock (Registry)
        {
            _registrations ??= Register();
            Running.Add(this);
        }
    }

    /// <summary>
    /// Set by the tool's entry point, whose process runs one command: a signal after that command
    /// ended is ignored until the process exits. Tests that run commands in-process leave it off.
    /// </summary>
    public static bool HoldAfterCommand { get; set; }

    /// <summary>Cancelled by the outer token or by a signal.</summary>
    public CancellationToken Token => _source.Token;

    private static List<PosixSignalRegistration> Register()
    {
        var registrations = new List<PosixSignalRegistration>();
        if (OperatingSystem.IsWindows() || OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            foreach (var signal in Signals)
            {
                try { registrations.Add(PosixSignalRegistration.Create(signal, Dispatch)); }
                catch (PlatformNotSupportedException) { }
            }
        return registrations;
    }

    private static void Dispatch(PosixSignalContext context)
    {
        SignalCancellation[] running;
        bool ended;
        lock (Registry)
        {
            running = [.. Running];
            ended = _ended;
        }
        if (running.Length == 0)
        {
            if (HoldAfterCommand && ended) context.Cancel = true;
            return;
        }
        foreach (var command in running) command.OnSignal(context);
    }

    private void OnSignal(PosixSignalContext context)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                // The command has ended; its result stands.
                context.Cancel = true;
                return;
            }
            _received++;
            if (_renaming > 0)
            {
                // Renames take microseconds; a run whose outputs are half in place must finish them.
                context.Cancel = true;
                _waiting = true;
            }
            else if (_received == 1)
            {
                context.Cancel = true;
                _source.Cancel();
            }
            else
            {
                TempFiles.DeleteAll();
            }
        }
    }

    void IRenameGate.Enter(IReadOnlyList<string> targets)
    {
        foreach (var target in targets) Hook("commit", target);
        lock (_gate)
        {
            _source.Token.ThrowIfCancellationRequested();
            _renaming++;
        }
    }

    void IRenameGate.Moving(string target) => Hook("rename", target);

    void IRenameGate.Moved(string target) => Hook("renamed", target);

    void IRenameGate.Exit()
    {
        lock (_gate)
        {
            if (--_renaming > 0 || !_waiting) return;
            _waiting = false;
            _source.Cancel();
        }
    }

    /// <summary>The command's body has returned (a point of the test hook).</summary>
    public void BodyReturned() => Hook("end", null);

    private void Hook(string point, string? target)
    {
        if (_hook is not { } hook || _hookFired || hook.Point != point) return;
        if (hook.Name is not null && (target is null || Path.GetFileName(target) != hook.Name)) return;
        _hookFired = true;
        OnSignal(new PosixSignalContext(PosixSignal.SIGINT));
    }

    private static (string, string?)? ParseHook(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) return null;
        var colon = spec.IndexOf(':');
        return colon < 0 ? (spec.Trim(), null) : (spec[..colon].Trim(), spec[(colon + 1)..]);
    }

    public void Dispose()
    {
        lock (_gate) _disposed = true;
        lock (Registry)
        {
            Running.Remove(this);
            _ended = true;
        }
        _source.Dispose();
        Hook("exit", null);
    }
}
