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

    /// <summary>Where the model's parameters live (the command's compute device when loaded).</summary>
    public Device Device { get; private set; } = torch.CPU;

    /// <summary>Moves the trunk and every head to <paramref name="device"/>.</summary>
    public LoadedModel To(Device device)
    {
        if (device.type == Device.type && device.index == Device.index) return this;
        foreach (var m in Modules) m.to(device);
        Device = device;
        return this;
    }

    /// <summary>One output per head (a single one for an ordinary model), on the model's device; the input is moved there.</summary>
    public IReadOnlyList<Tensor> Forward(Tensor input)
    {
        if (input.device_type != Device.type || (Device.type == DeviceType.CUDA && input.device_index != Device.index))
            input = input.to(Device);
        if (Layout is null) return [Model.call(input)];
        var trunk = Model.forward_stages(input, 0, Layout.StopStage + 1);
        return Heads.Select(h => h.forward_stages(trunk, Layout.StopStage + 1, h.StageCount)).ToList();
    }

    /// <summary>The trunk's weights on the CPU (copies when the model is on a GPU): matching and zipping run on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> CpuState() => Device.type == DeviceType.CPU
        ? Model.state_dict()
        : Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu());

    public void Dispose()
    {
        Model.Dispose();
        foreach (var h in Heads) h.Dispose();
    }
}
