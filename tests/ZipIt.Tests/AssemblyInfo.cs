// Test classes run in parallel (one xunit collection each). Those that touch process-wide state
// (libtorch's global generator, TorchSharp's default device, the libtorch request, environment
// variables, the current directory, wall-clock limits, child dotnet builds) and every
// integration-tier class are in SerialCollection, which runs after the parallel ones, one class at
// a time.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass)]

namespace ZipIt.Tests;

internal static class StrictSnapshots
{
    /// <summary>
    /// A missing snapshot fails the test instead of being written silently, in every run (not only
    /// CI's). To record a new snapshot on purpose, run once with SNAPSHOOTER_STRICT_MODE=false and
    /// commit the file it writes.
    /// </summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Enable()
    {
        if (Environment.GetEnvironmentVariable("SNAPSHOOTER_STRICT_MODE") is null)
            Environment.SetEnvironmentVariable("SNAPSHOOTER_STRICT_MODE", "true");
    }
}
