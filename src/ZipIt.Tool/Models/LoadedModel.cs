namespace ZipIt.Models;

/// <summary>A checkpoint turned into a runnable model: its architecture, configuration and weights.</summary>
internal sealed class LoadedModel(string path, IArchitecture architecture, ArchitectureConfig config, StagedModel model,
    IReadOnlyDictionary<string, string> metadata) : IDisposable
{
    public string Path { get; } = path;
    public IArchitecture Architecture { get; } = architecture;
    public ArchitectureConfig Config { get; } = config;
    public StagedModel Model { get; } = model;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;

    public void Dispose() => Model.Dispose();
}
