namespace ZipIt.Engine.Core;

/// <summary>Recognises libtorch's out-of-memory failures, which reach .NET as plain native exceptions.</summary>
internal static class ResourceErrors
{
    private static readonly string[] Markers =
    [
        "not enough memory", "out of memory", "DefaultCPUAllocator: can't allocate memory", "CUDA error: out of memory", "std::bad_alloc",
    ];

    /// <summary>Whether <paramref name="e"/> (or an inner exception) is an allocation failure.</summary>
    public static bool IsOutOfMemory(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is OutOfMemoryException or InsufficientMemoryException) return true;
            if (Markers.Any(m => x.Message.Contains(m, StringComparison.OrdinalIgnoreCase))) return true;
        }
        return false;
    }

    /// <summary>The first line of libtorch's message, without its C++ backtrace.</summary>
    public static string FirstLine(Exception e) => e.Message.Split('\n', 2)[0].Trim();
}
