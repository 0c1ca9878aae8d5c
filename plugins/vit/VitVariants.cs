namespace ZipIt.Plugins.Vit;

/// <summary>A registered ViT variant: a timm name for one network shape.</summary>
internal sealed record VitVariant(string Name, VitSpec Spec, string Description)
{
    public ArchitectureVariant ToArchitectureVariant() => new(Name, Description);
}

/// <summary>
/// timm's registered ViT/DeiT variants (patch 16, 224×224, 1000 classes, class token, MLP ratio 4,
/// qkv bias) and two CIFAR-size ones of our own that train on a CPU (patch 4, 32×32, 10 classes):
/// <c>vit_pico_patch4_32</c> (width 96, depth 3, 3 heads; the layout of the parity fixture
/// <c>timm_vit_p4_d96_h3_l3</c>) and <c>vit_nano_patch4_32</c> (width 192, depth 6, 3 heads).
/// </summary>
internal static class VitVariants
{
    /// <summary>The name of a shape no registered variant has; <see cref="VitArchitecture.Configure"/> starts it from <c>vit_pico_patch4_32</c>.</summary>
    public const string CustomName = "vit-custom";

    public static readonly IReadOnlyList<VitVariant> All =
    [
        Timm("vit_tiny_patch16_224", 192, 12, 3, "ViT-Ti/16"),
        Timm("vit_small_patch16_224", 384, 12, 6, "ViT-S/16"),
        Timm("vit_base_patch16_224", 768, 12, 12, "ViT-B/16"),
        Timm("deit_tiny_patch16_224", 192, 12, 3, "DeiT-Ti/16 (ViT-Ti/16's shape)"),
        Timm("deit_small_patch16_224", 384, 12, 6, "DeiT-S/16 (ViT-S/16's shape)"),
        Small("vit_pico_patch4_32", 96, 3, 3),
        Small("vit_nano_patch4_32", 192, 6, 3),
    ];

    private static VitVariant Timm(string name, int width, int depth, int heads, string what) =>
        new(name, Spec(width, depth, heads, 16, 224, 1000),
            $"timm {what}: width {width}, depth {depth}, {heads} heads, MLP {4 * width}, 224x224, class token (classes=1000)");

    private static VitVariant Small(string name, int width, int depth, int heads) =>
        new(name, Spec(width, depth, heads, 4, 32, 10),
            $"CIFAR-size ViT: patch 4, 32x32, width {width}, depth {depth}, {heads} heads, MLP {4 * width}, class token (classes=10)");

    private static VitSpec Spec(int width, int depth, int heads, int patch, int image, int classes) =>
        new(width, depth, heads, 4 * width, patch, image, 3, classes, classToken: true, VitPool.Token, noEmbedClass: false, qkvBias: true, layerScale: false);
}
