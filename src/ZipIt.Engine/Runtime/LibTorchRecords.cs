namespace ZipIt.Engine.Runtime;

/// <summary>Which libtorch a command asks for: an explicit folder (and where it came from), and whether CUDA is wanted.</summary>
internal sealed record LibTorchRequest(string? Dir, string? Source, bool Cuda)
{
    public static readonly LibTorchRequest Default = new(null, null, false);
}

/// <summary>The libtorch loaded into this process.</summary>
internal sealed record LoadedLibTorch(string Dir, string Source, string? Version, string? CudaVersion, bool HasCuda,
    IReadOnlyDictionary<string, IntPtr> Handles, IReadOnlyList<string> Searched);

/// <summary>CUDA's state: usable or not, the visible GPU count, and why not.</summary>
internal sealed record CudaStatus(bool Available, int Count, string? Why);
