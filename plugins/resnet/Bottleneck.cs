using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// torchvision's Bottleneck (ResNet v1.5): conv1×1 → norm → ReLU → conv3×3 (stride here) → norm →
/// ReLU → conv1×1 (×4 channels) → norm, plus the shortcut, then ReLU. Keys <c>conv1..3</c>,
/// <c>bn1..3</c>, <c>downsample.0/1</c>.
/// </summary>
/// <remarks>Intermediate tensors are disposed before <c>forward</c> returns (see <see cref="BasicBlock"/>).</remarks>
public sealed class Bottleneck : nn.Module<Tensor, Tensor>
{
    public const int Expansion = 4;

    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly Conv2d conv2;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly Conv2d conv3;
    private readonly nn.Module<Tensor, Tensor> bn3;
    private readonly nn.Module<Tensor, Tensor>? projection;

    internal Bottleneck(ResNetSpec spec, int input, int planes, int stride, nn.Module<Tensor, Tensor>? projection) : base(nameof(Bottleneck))
    {
        conv1 = ResNetLayers.Conv(input, planes, 1, 1);
        bn1 = ResNetLayers.Norm(spec, planes);
        conv2 = ResNetLayers.Conv(planes, planes, 3, stride);
        bn2 = ResNetLayers.Norm(spec, planes);
        conv3 = ResNetLayers.Conv(planes, planes * Expansion, 1, 1);
        bn3 = ResNetLayers.Norm(spec, planes * Expansion);
        this.projection = projection;
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        register_module("conv3", conv3);
        register_module("bn3", bn3);
        if (projection is not null) register_module(spec.ShortcutName, projection);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(bn1.call(conv1.call(x)));
        h = nn.functional.relu(bn2.call(conv2.call(h)));
        h = bn3.call(conv3.call(h));
        var shortcut = projection is null ? x : projection.call(x);
        return nn.functional.relu(h.add_(shortcut)).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}
