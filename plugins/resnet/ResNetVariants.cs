namespace ZipIt.Plugins.ResNet;

/// <summary>A registered ResNet variant: a name for one style, block type and block-count list.</summary>
internal sealed record ResNetVariant(string Name, ResNetStyle Style, ResNetBlock Block, int[] Blocks, int Classes, string Description)
{
    public ArchitectureVariant ToArchitectureVariant() => new(Name, Description);
}

/// <summary>The variants of timm's/torchvision's registries plus the CIFAR depths of He et al. (6n+2).</summary>
internal static class ResNetVariants
{
    public static readonly IReadOnlyList<ResNetVariant> All =
    [
        Cifar("resnet20", 3), Cifar("resnet32", 5), Cifar("resnet44", 7), Cifar("resnet56", 9),
        new("resnet18", ResNetStyle.Torchvision, ResNetBlock.Basic, [2, 2, 2, 2], 1000, "torchvision ResNet-18: basic blocks [2,2,2,2], 512-d features, fc (classes=1000)"),
        new("resnet34", ResNetStyle.Torchvision, ResNetBlock.Basic, [3, 4, 6, 3], 1000, "torchvision ResNet-34: basic blocks [3,4,6,3], 512-d features, fc (classes=1000)"),
        new("resnet50", ResNetStyle.Torchvision, ResNetBlock.Bottleneck, [3, 4, 6, 3], 1000, "torchvision ResNet-50: bottlenecks [3,4,6,3], 2048-d features, fc (classes=1000)"),
        new("resnet101", ResNetStyle.Torchvision, ResNetBlock.Bottleneck, [3, 4, 23, 3], 1000, "torchvision ResNet-101: bottlenecks [3,4,23,3], 2048-d features, fc (classes=1000)"),
        new("resnet152", ResNetStyle.Torchvision, ResNetBlock.Bottleneck, [3, 8, 36, 3], 1000, "torchvision ResNet-152: bottlenecks [3,8,36,3], 2048-d features, fc (classes=1000)"),
    ];

    /// <summary>Names for non-standard block counts; they need the <c>blocks</c> setting.</summary>
    public static readonly IReadOnlyList<(string Name, ResNetStyle Style, ResNetBlock Block, int Classes)> Generic =
    [
        ("resnet-cifar", ResNetStyle.Cifar, ResNetBlock.Basic, 10),
        ("resnet-basic", ResNetStyle.Torchvision, ResNetBlock.Basic, 1000),
        ("resnet-bottleneck", ResNetStyle.Torchvision, ResNetBlock.Bottleneck, 1000),
    ];

    private static ResNetVariant Cifar(string name, int n) =>
        new(name, ResNetStyle.Cifar, ResNetBlock.Basic, [n, n, n], 10,
            $"CIFAR ResNet-{6 * n + 2}: basic blocks [{n},{n},{n}], channels 16w/32w/64w, conv3x3 shortcuts, linear head (width=1, classes=10, norm=bn|gn)");
}
