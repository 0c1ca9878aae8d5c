using TorchSharp;
using static TorchSharp.torch;

namespace ZipIt.Models;

/// <summary>
/// A checkpoint turned into a runnable model. For a partially zipped checkpoint, <see cref="Model"/>
/// holds the merged trunk and <see cref="Heads"/> one model per task whose later stages are used.
/// </summary>
internal sealed class LoadedModel(string path, IArchitecture architecture, ArchitectureConfig config, StagedModel model,
    IReadOnlyDictionary<string, string> metadata, MergeGraph graph, HeadLayout? layout = null, IReadOnlyList<StagedModel>? heads = null) : IDisposable
{
    public string Path { get; } = path;
    public IArchitecture Architecture { get; } = architecture;
    public ArchitectureConfig Config { get; } = config;
    public StagedModel Model { get; } = model;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
    public MergeGraph Graph { get; } = graph;
    public HeadLayout? Layout { get; } = layout;
    public IReadOnlyList<StagedModel> Heads { get; } = heads ?? [];

    /// <summary>Every module whose parameters take part in a forward pass (the trunk and each head).</summary>
    public IReadOnlyList<nn.Module> Modules => [Model, .. Heads];

    /// <summary>One output per head (a single one for an ordinary model).</summary>
    public IReadOnlyList<Tensor> Forward(Tensor input)
    {
        if (Layout is null) return [Model.call(input)];
        var trunk = Model.forward_stages(input, 0, Layout.StopStage + 1);
        return Heads.Select(h => h.forward_stages(trunk, Layout.StopStage + 1, h.StageCount)).ToList();
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var h in Heads) h.Dispose();
    }
}
