using System.Runtime.InteropServices;

namespace ZipIt.Cli;

/// <summary>
/// Makes the process stop when the process that started it dies. <c>dotnet zipit</c> (a local tool)
/// runs zipit as a child of the dotnet launcher; without this, killing the launcher leaves zipit
/// running and writing its output later. On Linux the kernel sends SIGTERM to zipit when its parent
/// dies (<c>PR_SET_PDEATHSIG</c>), which <see cref="SignalCancellation"/> turns into a cancelled
/// command (exit 130, nothing left). Elsewhere this does nothing.
/// </summary>
internal static class ParentDeath
{
    private const int PrSetPdeathsig = 1;
    private const int SigTerm = 15;

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int Prctl(int option, nuint arg2, nuint arg3, nuint arg4, nuint arg5);

    [DllImport("libc", EntryPoint = "getppid")]
    private static extern int GetParentId();

    [DllImport("libc", EntryPoint = "kill")]
    private static extern int Kill(int pid, int signal);

    /// <summary>Asks for SIGTERM on the parent's death; true when it was set.</summary>
    public static bool Install()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var parent = GetParentId();
            if (Prctl(PrSetPdeathsig, SigTerm, 0, 0, 0) != 0) return false;
            // The parent may have died between reading its id and the prctl: then no signal will come.
            if (GetParentId() != parent) Kill(Environment.ProcessId, SigTerm);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }
}
