namespace ZipIt.Hosting;

/// <summary>Where a command writes: data to <see cref="Out"/> (stdout), logs and progress to <see cref="Error"/> (stderr).</summary>
public sealed record ConsoleStreams(TextWriter Out, TextWriter Error);
