using System.Runtime.InteropServices;

namespace ZipIt.Engine.Core;

/// <summary>
/// Refuses inputs that are not regular files before they are opened: opening a FIFO with no writer
/// blocks for ever, and a character device such as <c>/dev/zero</c> reads as an endless or empty
/// stream, neither of which is a file zipit can read.
/// </summary>
public static class SpecialFiles
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    // stx_mode sits at the same offset on every architecture (struct statx is arch-independent), unlike struct stat's st_mode.
    private const int ModeOffset = 28;
    private const int StatxSize = 256;

    /// <summary>
    /// What kind of special file <paramref name="path"/> is ("a named pipe (FIFO)", "a character
    /// device", ...), after symbolic links; null for a regular file, a folder, a missing path, or
    /// where the kind cannot be told (not Linux).
    /// </summary>
    public static string? KindOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        var buffer = new byte[StatxSize];
        int result;
        try { result = statx(AtFdCwd, path, 0, StatxType, buffer); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
        if (result != 0) return null;
        var mode = BitConverter.ToUInt16(buffer, ModeOffset) & 0xF000;
        return mode switch
        {
            0x1000 => "a named pipe (FIFO)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xC000 => "a socket",
            _ => null,
        };
    }

    /// <summary>Throws exit 3 naming <paramref name="display"/> when <paramref name="path"/> is a special file.</summary>
    public static void RequireRegular(string path, string display)
    {
        if (KindOf(path) is { } kind) throw ZipItException.Input($"{display}: is {kind}, not a regular file; zipit reads files only");
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}
