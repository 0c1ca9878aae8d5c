using TorchSharp;
using ZipIt.Engine.Core;
using ZipIt.Engine.Zip;
using static TorchSharp.torch;

namespace ZipIt.Engine.Models;

/// <summary>
/// A checkpoint turned into a runnable model. For a partially zipped checkpoint, <see cref="Model"/>
/// holds the merged trunk and <see cref="Heads"/> one model per task whose later stages are used;
/// <see cref="EntryTransforms"/> holds each head's unmerge of the trunk output where the stop's
/// feature space runs on into the heads (see <see cref="HeadLayout"/>).
/// </summary>
internal sealed class LoadedModel(string path, IArchitecture architecture, ArchitectureConfig config, StagedModel model,
    IReadOnlyDictionary<string, string> metadata, MergeGraph graph, HeadLayout? layout = null, IReadOnlyList<StagedModel>? heads = null,
    IReadOnlyList<Tensor>? entryTransforms = null) : IDisposable
{
    private IReadOnlyList<Tensor> _entry = entryTransforms ?? [];

    public string Path { get; } = path;

    /// <summary>What messages and records call the model: the folder's name for a model folder, else the file's.</summary>
    public string Name { get; init; } = System.IO.Path.GetFileName(path);
    public IArchitecture Architecture { get; } = architecture;
    public ArchitectureConfig Config { get; } = config;
    public StagedModel Model { get; } = model;
    public IReadOnlyDictionary<string, string> Metadata { get; } = metadata;
    public MergeGraph Graph { get; } = graph;
    public HeadLayout? Layout { get; } = layout;
    public IReadOnlyList<StagedModel> Heads { get; } = heads ?? [];

    /// <summary>Uᵢ [C, C] per head when the layout has an entry space; empty otherwise.</summary>
    public IReadOnlyList<Tensor> EntryTransforms => _entry;

    /// <summary>Every module whose parameters take part in a forward pass (the trunk and each head).</summary>
    public IReadOnlyList<nn.Module> Modules => [Model, .. Heads];

    /// <summary>Where the model's parameters live (the command's compute device when loaded).</summary>
    public Device Device { get; private set; } = torch.CPU;

    /// <summary>Moves the trunk, every head and the entry transforms to <paramref name="device"/>.</summary>
    public LoadedModel To(Device device)
    {
        if (device.type == Device.type && device.index == Device.index) return this;
        foreach (var m in Modules) m.to(device);
        if (_entry.Count > 0)
        {
            var moved = _entry.Select(t => t.to(device)).ToList();
            foreach (var t in _entry) t.Dispose();
            _entry = moved;
        }
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
        return Heads.Select((h, i) => h.forward_stages(Entry(trunk, i), Layout.StopStage + 1, h.StageCount)).ToList();
    }

    // x_i = U_i · x_merged on the stop stage's channel axis: a token-major [B, T, C] stream becomes
    // model i's own stream before its remaining blocks.
    private Tensor Entry(Tensor trunk, int head)
    {
        if (_entry.Count == 0) return trunk;
        var axis = Graph.Stages[Layout!.StopStage].OutputChannelAxis;
        axis = axis < 0 ? (int)trunk.dim() + axis : axis;
        var u = _entry[head];
        if (axis < 0 || axis >= trunk.dim() || trunk.shape[axis] != u.shape[1])
            throw ZipItException.Input($"{System.IO.Path.GetFileName(Path)}: the trunk's output {Output.Format.Shape(trunk.shape)} does not fit head {head}'s entry transform {Output.Format.Shape(u.shape)}");
        using var moved = trunk.transpose(axis, -1);
        using var mapped = nn.functional.linear(moved, u);
        return mapped.transpose(axis, -1).contiguous();
    }

    /// <summary>The trunk's weights on the CPU (copies when the model is on a GPU): matching and zipping run on the CPU.</summary>
    public IReadOnlyDictionary<string, Tensor> CpuState() => Device.type == DeviceType.CPU
        ? Model.state_dict()
        : Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu());

    public void Dispose()
    {
        Model.Dispose();
        foreach (var h in Heads) h.Dispose();
        foreach (var t in _entry) t.Dispose();
    }
}
