using System.Runtime.InteropServices;
using ZipIt.Output;

namespace ZipIt.Hosting;

/// <summary>
/// Turns SIGINT, SIGTERM and SIGHUP into cancellation of one command: the first signal cancels the
/// token (the command unwinds, deletes its temps and exits 130); a second one deletes every temp
/// of the process and lets the signal terminate it, for a command stuck in a long native call.
/// </summary>
internal sealed class SignalCancellation : IDisposable
{
    private static readonly PosixSignal[] Signals = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP];

    private readonly CancellationTokenSource _source;
    private readonly List<PosixSignalRegistration> _registrations = [];
    private int _received;

    public SignalCancellation(CancellationToken outer)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(outer);
        if (OperatingSystem.IsWindows() || OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            foreach (var signal in Signals)
            {
                try { _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal)); }
                catch (PlatformNotSupportedException) { }
            }
    }

    /// <summary>Cancelled by the outer token or by a signal.</summary>
    public CancellationToken Token => _source.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _received) == 1)
        {
            context.Cancel = true;
            _source.Cancel();
        }
        else
        {
            TempFiles.DeleteAll();
        }
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _source.Dispose();
    }
}
