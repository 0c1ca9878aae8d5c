using TorchSharp;

namespace ZipIt.Models;

/// <summary>Process-wide libtorch settings, applied once before the first computation.</summary>
internal static class TorchRuntime
{
    private static int _initialised;

    /// <summary>Uses every core for intra-op parallelism (libtorch's default may be fewer in containers).</summary>
    public static void Initialize()
    {
        if (Interlocked.Exchange(ref _initialised, 1) == 1) return;
        torch.set_num_threads(Environment.ProcessorCount);
    }
}
