using System.Runtime.CompilerServices;
using ZipIt.Engine.Runtime;

namespace ZipIt.Tests;

internal static class LibTorchThreads
{
    /// <summary>
    /// Loads libtorch and sets its intra-op thread count (<see cref="TorchRuntime.Initialize"/>, as
    /// the tool does before its first computation) before any test runs. libtorch applies the count
    /// to a thread when that thread first computes, and OpenMP keeps it per thread: without this, a
    /// test thread that computed before the first command would keep libtorch's default (the
    /// physical cores, not always <see cref="Environment.ProcessorCount"/>), and which threads did
    /// would depend on how the parallel test classes happened to be scheduled.
    /// </summary>
    [ModuleInitializer]
    internal static void SetBeforeAnyTest() => TorchRuntime.Initialize();
}
