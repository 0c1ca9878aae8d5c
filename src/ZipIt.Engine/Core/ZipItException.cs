namespace ZipIt.Engine.Core;

/// <summary>
/// A failure the user can act on. The CLI prints <see cref="Exception.Message"/> as one line on
/// stderr and exits with <see cref="Code"/>; no stack trace. Messages name the file, tensor or
/// option and say what is wrong with it.
/// </summary>
public class ZipItException : Exception
{
    public ZipItException(ExitCode code, string message, Exception? inner = null) : base(message, inner) => Code = code;

    public ExitCode Code { get; }

    public static ZipItException Usage(string message) => new(ExitCode.Usage, message);
    public static ZipItException Input(string message, Exception? inner = null) => new(ExitCode.Input, message, inner);
    public static ZipItException Plugin(string message, Exception? inner = null) => new(ExitCode.Plugin, message, inner);
    public static ZipItException Resource(string message, Exception? inner = null) => new(ExitCode.Resource, message, inner);
}
