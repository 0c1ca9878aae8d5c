using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// The CIFAR ResNet of the ZipIt! and MuDSC reference code with width multiplier w: conv3×3(3→16w)
/// + norm + ReLU, three stages of <see cref="BasicBlock"/>s (16w, 32w, 64w), global average pool,
/// <c>linear</c>. Stages: <c>stem</c>, <c>layer1</c>..<c>layer3</c>, <c>head</c>.
/// </summary>
public sealed class CifarResNet : StagedModel
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly nn.Module<Tensor, Tensor>[] layers;
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Linear linear;

    internal CifarResNet(ResNetSpec spec) : base(nameof(CifarResNet))
    {
        if (spec.Style != ResNetStyle.Cifar) throw new ArgumentException("not a CIFAR ResNet specification", nameof(spec));
        Spec = spec;
        conv1 = ResNetLayers.Conv(3, spec.StemChannels, 3, 1);
        bn1 = ResNetLayers.Norm(spec, spec.StemChannels);
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        layers = new nn.Module<Tensor, Tensor>[spec.StageCount];
        for (var s = 1; s <= spec.StageCount; s++)
            register_module($"layer{s}", layers[s - 1] = ResNetLayers.Stage(spec, s));
        avgpool = nn.AdaptiveAvgPool2d(1);
        linear = nn.Linear(spec.StreamChannels(spec.StageCount), spec.Classes);
        register_module("avgpool", avgpool);
        register_module("linear", linear);
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
            return nn.functional.relu(bn1.call(conv1.call(input))).MoveToOuterDisposeScope();
        }
        if (stage <= layers.Length) return layers[stage - 1].call(input);
        if (stage == layers.Length + 1)
        {
            using var scope = NewDisposeScope();
            return linear.call(avgpool.call(input).flatten(1)).MoveToOuterDisposeScope();
        }
        throw new ArgumentOutOfRangeException(nameof(stage), $"stage {stage} outside [0, {StageCount})");
    }

    protected override void RegisterComponents() { }
}
