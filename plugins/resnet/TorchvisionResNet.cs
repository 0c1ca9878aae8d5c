using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// torchvision's <c>ResNet</c> (18/34 with <see cref="BasicBlock"/>, 50/101/152 with
/// <see cref="Bottleneck"/>), with its exact state-dict keys and shapes including the BatchNorm
/// <c>num_batches_tracked</c> buffers. Stages: <c>stem</c> (conv1, bn1, ReLU, max-pool),
/// <c>layer1</c>..<c>layer4</c>, <c>head</c> (avgpool, fc).
/// </summary>
public sealed class TorchvisionResNet : StagedModel
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly MaxPool2d maxpool;
    private readonly nn.Module<Tensor, Tensor>[] layers;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Linear fc;

    internal TorchvisionResNet(ResNetSpec spec) : base("ResNet")
    {
        if (spec.Style != ResNetStyle.Torchvision) throw new ArgumentException("not a torchvision ResNet specification", nameof(spec));
        Spec = spec;
        conv1 = nn.Conv2d(3, spec.StemChannels, 7, stride: 2, padding: 3, bias: false);
        bn1 = ResNetLayers.Norm(spec, spec.StemChannels);
        maxpool = nn.MaxPool2d(3, stride: 2, padding: 1);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("maxpool", maxpool);
        layers = new nn.Module<Tensor, Tensor>[spec.StageCount];
        for (var s = 1; s <= spec.StageCount; s++)
            register_module($"layer{s}", layers[s - 1] = ResNetLayers.Stage(spec, s));
        avgpool = nn.AdaptiveAvgPool2d(1);
        fc = nn.Linear(spec.StreamChannels(spec.StageCount), spec.Classes);
        register_module("avgpool", avgpool);
        register_module("fc", fc);
        ResNetLayers.Initialise(this, spec.Style);
    }

    public ResNetSpec Spec { get; }

    /// <summary>stem, one per stage, head.</summary>
    public override int StageCount => layers.Length + 2;

    public override Tensor forward_stage(int stage, Tensor input)
    {
        if (stage == 0)
        {
            using var scope = NewDisposeScope();
            return maxpool.call(nn.functional.relu(bn1.call(conv1.call(input)))).MoveToOuterDisposeScope();
        }
        if (stage <= layers.Length) return layers[stage - 1].call(input);
        if (stage == layers.Length + 1)
        {
            using var scope = NewDisposeScope();
            return fc.call(avgpool.call(input).flatten(1)).MoveToOuterDisposeScope();
        }
        throw new ArgumentOutOfRangeException(nameof(stage), $"stage {stage} outside [0, {StageCount})");
    }

    protected override void RegisterComponents() { }
}
