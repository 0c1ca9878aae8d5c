using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace ZipIt.Plugins.ResNet;

/// <summary>
/// A list of modules run one after the other, registered as <c>0</c>, <c>1</c>, ... like
/// PyTorch's <c>nn.Sequential</c> (so keys read <c>layer1.0.conv1</c>, <c>shortcut.1.weight</c>).
/// Our own rather than TorchSharp's <c>Sequential</c>, whose registration bypasses the ordinary
/// submodule table; here every child is a plain submodule invoked with <c>call</c>, so hooks fire.
/// </summary>
internal sealed class ModuleChain : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor>[] _items;

    public ModuleChain(string name, params nn.Module<Tensor, Tensor>[] items) : base(name)
    {
        _items = items;
        for (var i = 0; i < items.Length; i++) register_module(i.ToString(System.Globalization.CultureInfo.InvariantCulture), items[i]);
    }

    public override Tensor forward(Tensor input)
    {
        var x = input;
        foreach (var item in _items)
        {
            var y = item.call(x);
            if (!ReferenceEquals(x, input) && !ReferenceEquals(x, y)) x.Dispose();
            x = y;
        }
        return x;
    }

    // Children are registered explicitly above; reflection would add nothing but could add wrong names.
    protected override void RegisterComponents() { }
}

/// <summary>Construction helpers shared by both ResNet layouts.</summary>
internal static class ResNetLayers
{
    /// <summary>The norm layer after a conv: BatchNorm2d, or GroupNorm(groups, C) under the same key name.</summary>
    public static nn.Module<Tensor, Tensor> Norm(ResNetSpec spec, int channels)
    {
        if (spec.Norm == ResNetNorm.BatchNorm) return nn.BatchNorm2d(channels);
        var gn = nn.GroupNorm(spec.Groups, channels);
        // TorchSharp 0.107's GroupNorm allocates its affine parameters with torch.empty and never
        // initialises them; PyTorch starts at weight 1, bias 0.
        using (no_grad())
        {
            gn.weight.fill_(1.0);
            gn.bias!.zero_();
        }
        return gn;
    }

    public static Conv2d Conv(int input, int output, int kernel, int stride) =>
        nn.Conv2d(input, output, kernel, stride: stride, padding: kernel / 2, bias: false);

    /// <summary>Stage <paramref name="stage"/> (1-based): its blocks as <c>layer{stage}.{b}</c>.</summary>
    public static ModuleChain Stage(ResNetSpec spec, int stage)
    {
        var blocks = new nn.Module<Tensor, Tensor>[spec.Blocks[stage - 1]];
        for (var b = 0; b < blocks.Length; b++)
        {
            var input = spec.BlockInput(stage, b);
            var stride = spec.Stride(stage, b);
            var planes = spec.Planes(stage);
            var projection = spec.HasProjection(stage, b) ? Projection(spec, input, spec.StreamChannels(stage), stride) : null;
            blocks[b] = spec.Block == ResNetBlock.Basic
                ? new BasicBlock(spec, input, planes, stride, projection)
                : new Bottleneck(spec, input, planes, stride, projection);
        }
        return new ModuleChain($"layer{stage}", blocks);
    }

    /// <summary>
    /// The projection shortcut: the CIFAR reference uses a 3×3 conv (padding 1), torchvision a 1×1
    /// conv; both followed by a norm and registered as <c>.0</c> and <c>.1</c>.
    /// </summary>
    private static ModuleChain Projection(ResNetSpec spec, int input, int output, int stride) =>
        new(spec.ShortcutName, Conv(input, output, spec.Style == ResNetStyle.Cifar ? 3 : 1, stride), Norm(spec, output));

    /// <summary>
    /// Initialisation as the respective reference code does it: CIFAR reference Kaiming-normal
    /// (fan-in, default gain) on conv and linear weights; torchvision Kaiming-normal (fan-out, ReLU)
    /// on convs and unit/zero norm affine parameters. Norm layers are already at 1/0 here.
    /// </summary>
    public static void Initialise(nn.Module root, ResNetStyle style)
    {
        using var _ = no_grad();
        foreach (var (_, module) in root.named_modules())
        {
            switch (module)
            {
                case Conv2d conv when style == ResNetStyle.Cifar:
                    nn.init.kaiming_normal_(conv.weight);
                    break;
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    break;
                case Linear linear when style == ResNetStyle.Cifar:
                    nn.init.kaiming_normal_(linear.weight);
                    break;
            }
        }
    }
}
