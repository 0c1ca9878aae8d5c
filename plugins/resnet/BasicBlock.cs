using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// conv3×3 → norm → ReLU → conv3×3 → norm, plus the shortcut, then ReLU (He et al.); the stride
/// sits on conv1. Keys: <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c> and, when the shape
/// changes, <c>shortcut.0/1</c> (CIFAR) or <c>downsample.0/1</c> (torchvision).
/// </summary>
/// <remarks>
/// Intermediate tensors are disposed before <c>forward</c> returns, so forward hooks must use (or
/// copy) the tensors they see before returning.
/// </remarks>
public sealed class BasicBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv1;
    private readonly nn.Module<Tensor, Tensor> bn1;
    private readonly Conv2d conv2;
    private readonly nn.Module<Tensor, Tensor> bn2;
    private readonly nn.Module<Tensor, Tensor>? projection;

    internal BasicBlock(ResNetSpec spec, int input, int planes, int stride, nn.Module<Tensor, Tensor>? projection) : base(nameof(BasicBlock))
    {
        conv1 = ResNetLayers.Conv(input, planes, 3, stride);
        bn1 = ResNetLayers.Norm(spec, planes);
        conv2 = ResNetLayers.Conv(planes, planes, 3, 1);
        bn2 = ResNetLayers.Norm(spec, planes);
        this.projection = projection;
        register_module("conv1", conv1);
        register_module("bn1", bn1);
        register_module("conv2", conv2);
        register_module("bn2", bn2);
        if (projection is not null) register_module(spec.ShortcutName, projection);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = nn.functional.relu(bn1.call(conv1.call(x)));
        h = bn2.call(conv2.call(h));
        var shortcut = projection is null ? x : projection.call(x);
        return nn.functional.relu(h.add_(shortcut)).MoveToOuterDisposeScope();
    }

    protected override void RegisterComponents() { }
}
