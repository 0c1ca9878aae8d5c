// libtorch state (manual_seed, thread count) is process-wide, and several tests build projects with
// the dotnet CLI: run test classes one after another.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

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
